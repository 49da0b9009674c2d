import { matchRoute, routeFor, ROUTES, routesOf } from '../../contract/routes';

describe('route table', () => {
  it('has unique method + path pairs and ids', () => {
    const keys = ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(ROUTES.map((r) => r.id)).size).toBe(ROUTES.length);
  });

  it('requires an API key on every route but health and the OpenAPI document', () => {
    const open = ROUTES.filter((r) => !r.apiKey).map((r) => r.path);
    expect(open.sort()).toEqual(['/health', '/openapi.json']);
  });

  it('matches concrete paths with their parameters', () => {
    expect(matchRoute('POST', '/predictions/abc%2F1/feedback')).toEqual({
      route: expect.objectContaining({ id: 'postFeedback' }),
      pathParameters: { id: 'abc/1' },
    });
    expect(matchRoute('DELETE', '/predict')).toEqual({ methodNotAllowed: true });
    expect(matchRoute('GET', '/nope')).toBeUndefined();
    expect(matchRoute('GET', '/predictions/')).toBeUndefined();
    expect(matchRoute('GET', '/predictions/%E0%A4%A')).toBeUndefined();
  });

  it('finds routes by API Gateway resource and by handler', () => {
    expect(routeFor('GET', '/predictions/{id}')?.id).toBe('getPrediction');
    expect(routesOf('query').map((r) => r.id)).toEqual(['listPredictions', 'getPrediction', 'metricsSummary']);
  });
});
