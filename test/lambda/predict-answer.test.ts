/** The media type of a `POST /predict` answer by Accept, and the CSV it writes. */
import { ApiError } from '../../contract/errors';
import { answerAs, answerMediaType, predictionsCsv } from '../../lambda/api/predict-answer';
import { proxyEvent } from './events';

const withAccept = (accept?: string) =>
  proxyEvent({ method: 'POST', resource: '/predict', headers: accept === undefined ? {} : { Accept: accept }, body: '{}' });

describe('answer media type', () => {
  it.each([
    [undefined, 'application/json'],
    ['', 'application/json'],
    ['*/*', 'application/json'],
    ['application/json', 'application/json'],
    ['text/csv', 'text/csv'],
    ['text/csv;q=0.5, application/json', 'application/json'],
    ['application/json;q=0.2, text/csv;q=0.9', 'text/csv'],
    ['text/html, text/*;q=0.1', 'text/csv'],
    ['TEXT/CSV; charset=utf-8', 'text/csv'],
  ])('Accept %p answers %s', (accept, type) => {
    expect(answerMediaType(withAccept(accept))).toBe(type);
  });

  it.each(['text/html', 'application/xml, image/*', 'text/csv;q=0'])('Accept %p is 406 NOT_ACCEPTABLE', (accept) => {
    expect(() => answerMediaType(withAccept(accept))).toThrow(expect.objectContaining({ code: 'NOT_ACCEPTABLE', field: 'Accept' }));
    expect(new ApiError('NOT_ACCEPTABLE', '').status).toBe(406);
  });
});

describe('CSV answers', () => {
  it('writes a header and a line per prediction, quoting where needed', () => {
    const csv = predictionsCsv({
      model: { name: 'm', version: '1' },
      predictions: [
        { id: 'A', label: 'yes, sure', probabilities: { 'yes, sure': 0.75, no: 0.25 } },
        { id: 'B', label: 'no', probabilities: { 'yes, sure': 0.5, no: 0.5 } },
      ],
    });
    expect(csv).toBe('id,label,"probability_yes, sure",probability_no\r\nA,"yes, sure",0.75,0.25\r\nB,no,0.5,0.5\r\n');
    expect(predictionsCsv({ model: { name: 'm', version: '1' }, predictions: [{ id: 'A', value: 1.5 }] })).toBe('id,value\r\nA,1.5\r\n');
  });

  it('leaves errors and JSON answers as they are', () => {
    const error = { statusCode: 400, headers: { 'content-type': 'application/json' }, body: '{"error":{}}' };
    expect(answerAs('text/csv', error)).toBe(error);
    const ok = {
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'x-mlship-model': 'm/1' },
      body: '{"predictions":[],"model":{}}',
    };
    expect(answerAs('application/json', ok)).toBe(ok);
    expect(answerAs('text/csv', ok).headers).toEqual({ 'content-type': 'text/csv; charset=utf-8', 'x-mlship-model': 'm/1' });
  });
});
