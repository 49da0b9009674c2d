import { RequestSummary, requestLine, shortHandlerLine } from '../../local/terminal-log';

const at = new Date(2026, 10, 30, 10, 41, 20);
const entry = (method: string, path: string, status: number, ms: number) => ({ method, path, status, ms, requestId: 'r' });

describe('terminal log of npm start', () => {
  it('sums requests up by route template, status class and latency, then starts afresh', () => {
    const s = new RequestSummary();
    expect(s.flush(at, 10)).toBeUndefined();
    s.add(entry('POST', '/predict', 200, 2));
    s.add(entry('POST', '/predict', 200, 4));
    s.add(entry('GET', '/predictions/01M8P0K24MZ2ZVF1KQ5FV0X9KB?x=1', 404, 1));
    s.add(entry('GET', '/nowhere', 404, 0.5));
    s.add(entry('POST', '/predict', 503, 30));
    expect(s.flush(at, 10)).toBe(
      '10:41:20  5 requests in 10 s: 3 POST /predict, 1 GET /predictions/{id}, 1 GET (no route) · 2 ok, 2 4xx, 1 5xx · p50 2.0 ms, max 30.0 ms',
    );
    expect(s.flush(at, 10)).toBeUndefined();
  });

  it('prints one access line per request', () => {
    expect(requestLine(entry('GET', '/health', 200, 1.234), at)).toBe('10:41:20  GET /health 200 1.2 ms');
  });

  it('keeps handler warnings and errors short and drops info lines and metrics', () => {
    const warn = JSON.stringify({
      timestamp: at.toISOString(),
      level: 'WARN',
      service: 'predict',
      message: 'log write failed; dead-lettering',
      failed: 2,
      requestId: 'abc',
      model: 'm',
    });
    expect(shortHandlerLine(warn, 'WARN')).toBe('10:41:20  predict WARN log write failed; dead-lettering (failed 2, requestId abc)');
    const error = JSON.stringify({
      timestamp: at.toISOString(),
      level: 'ERROR',
      service: 'query',
      message: 'unhandled error',
      error: { name: 'Error', message: 'boom' },
    });
    expect(shortHandlerLine(error, 'ERROR')).toBe('10:41:20  query ERROR unhandled error (boom)');
    expect(shortHandlerLine('{"level":"INFO"}', 'INFO')).toBeUndefined();
    expect(shortHandlerLine('{"_aws":{}}', 'METRIC')).toBeUndefined();
  });
});
