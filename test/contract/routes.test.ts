import { matchRoute, ROUTES, routeFor, routesOf } from '../../contract/routes';

describe('route table', () => {
  it('has unique method + path pairs and ids', () => {
    const keys = ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(ROUTES.map((r) => r.id)).size).toBe(ROUTES.length);
  });

  it('requires an API key on every route but health, the OpenAPI document and the dashboard page and files', () => {
    const open = ROUTES.filter((r) => !r.apiKey);
    expect(open.map((r) => r.path).sort()).toEqual(['/', '/dashboard/{file}', '/health', '/openapi.json']);
    // Open routes only read: none of them returns predictions or takes a body.
    expect(open.every((r) => r.method === 'GET' && r.handler === 'meta')).toBe(true);
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
