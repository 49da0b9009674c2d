/**
 * A local SageMaker runtime: speaks InvokeEndpoint (`POST /endpoints/{name}/invocations`, REST-JSON)
 * the way the SDK's client expects, and forwards each call to a model server, as SageMaker forwards to
 * the container's `/invocations`. Errors take the shapes the SDK deserializes:
 * a container non-2xx becomes a 424 `ModelError` carrying OriginalStatusCode and OriginalMessage,
 * an unknown endpoint a 400 `ValidationError`, an unreachable container a 503 `ServiceUnavailable`.
 */
import * as http from 'node:http';
import { closeServer, listen } from './listen';

export interface SageMakerRuntimeOptions {
  /** @default 0 - a free port */
  port?: number;
  /** Endpoint name → model server base URL. */
  endpoints: Record<string, string>;
  /** The variant name reported in `x-Amzn-Invoked-Production-Variant`. @default 'AllTraffic' */
  variant?: string;
}

export interface RunningSageMakerRuntime {
  readonly url: string;
  /** Calls served, by endpoint (tests check which path was taken). */
  readonly invocations: Record<string, number>;
  close(): Promise<void>;
}

const PATH = /^\/endpoints\/([^/]+)\/invocations$/;

export async function startSageMakerRuntime(opts: SageMakerRuntimeOptions): Promise<RunningSageMakerRuntime> {
  const variant = opts.variant ?? 'AllTraffic';
  const invocations: Record<string, number> = {};
  const agent = new http.Agent({ keepAlive: true });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const [, endpoint] = PATH.exec((req.url ?? '').replace(/\?.*$/s, '')) ?? [];
      if (req.method !== 'POST' || endpoint === undefined)
        return awsError(res, 404, 'UnknownOperationException', `No operation ${req.method} ${req.url}`);
      const name = decodeURIComponent(endpoint);
      const target = opts.endpoints[name];
      if (target === undefined) return awsError(res, 400, 'ValidationError', `Endpoint ${name} of account 000000000000 not found.`);
      invocations[name] = (invocations[name] ?? 0) + 1;
      forward(target, req, Buffer.concat(chunks), res, name);
    });
  });

  function forward(target: string, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, name: string): void {
    const url = new URL('invocations', target.endsWith('/') ? target : `${target}/`);
    const headers: http.OutgoingHttpHeaders = {
      'content-type': req.headers['content-type'] ?? 'application/octet-stream',
      accept: req.headers.accept ?? '*/*',
      'content-length': body.length,
    };
    const custom = req.headers['x-amzn-sagemaker-custom-attributes'];
    if (custom !== undefined) headers['x-amzn-sagemaker-custom-attributes'] = custom;
    const out = http.request(url, { method: 'POST', agent, headers }, (upstream) => {
      const parts: Buffer[] = [];
      upstream.on('data', (c: Buffer) => parts.push(c));
      upstream.on('end', () => {
        const answer = Buffer.concat(parts);
        const status = upstream.statusCode ?? 500;
        if (status >= 200 && status < 300) {
          res.writeHead(200, {
            'content-type': upstream.headers['content-type'] ?? 'application/octet-stream',
            'x-amzn-invoked-production-variant': variant,
            'content-length': answer.length,
          });
          res.end(answer);
        } else {
          awsError(res, 424, 'ModelError', `Received client error (${status}) from primary with message "${answer.toString('utf8')}".`, {
            OriginalStatusCode: status,
            OriginalMessage: answer.toString('utf8'),
            LogStreamArn: `arn:aws:logs:us-east-1:000000000000:log-group:/aws/sagemaker/Endpoints/${name}`,
          });
        }
      });
    });
    out.on('error', () => awsError(res, 503, 'ServiceUnavailable', `The model container of endpoint ${name} is not reachable.`));
    out.end(body);
  }

  const port = await listen(server, opts.port ?? 0, 'local SageMaker runtime');
  return {
    url: `http://127.0.0.1:${port}`,
    invocations,
    close: async () => {
      agent.destroy();
      await closeServer(server);
    },
  };
}

/** A REST-JSON error: the SDK reads the type from `x-amzn-ErrorType` and the members from the body. */
function awsError(res: http.ServerResponse, status: number, type: string, message: string, extra: Record<string, unknown> = {}): void {
  const body = JSON.stringify({ Message: message, message, ...extra });
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-errortype': type,
    'x-amzn-requestid': `local-${Date.now()}`,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
