/**
 * Checks API answers against the served OpenAPI document: the status must be declared for the operation,
 * and a JSON body must validate (ajv, JSON Schema 2020-12) against the schema declared for that status.
 * End-to-end suites pass `record` as `startLocal({ onResponse })` and call `failures()` at the end.
 */

import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { matchRoute } from '../../contract/routes';

interface Seen {
  method: string;
  path: string;
  status: number;
  contentType: string;
  body: string;
}

export function openApiResponseCheck() {
  const seen: Seen[] = [];
  return {
    record(request: { method: string; path: string }, result: APIGatewayProxyResult): void {
      const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
      seen.push({
        method: request.method,
        path: request.path.split('?')[0],
        status: result.statusCode,
        contentType: (headers['content-type'] ?? '').split(';')[0],
        body: result.isBase64Encoded ? '' : (result.body ?? ''),
      });
    },
    count: () => seen.length,
    /** Fetches the document from `baseUrl` and lists every answer that does not match it. */
    async failures(baseUrl: string): Promise<string[]> {
      const doc = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as {
        servers?: { url: string }[];
        paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
      };
      const problems: string[] = [];
      // The document names the URL it was fetched from as its server, so a generated client needs no setup.
      if (doc.servers?.[0]?.url !== baseUrl) problems.push(`servers is ${JSON.stringify(doc.servers)}, not ${baseUrl}`);
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats(ajv);
      ajv.addSchema(doc, 'api');
      const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
      for (const s of seen) {
        const match = matchRoute(s.method, s.path);
        const what = `${s.method} ${s.path} ${s.status}`;
        if (match === undefined || 'methodNotAllowed' in match) {
          // No operation to check against: the gateway's own 404/405 still has the error shape.
          const validate = ajv.getSchema('api#/components/schemas/Error');
          if (!validate?.(JSON.parse(s.body))) problems.push(`${what}: not the error shape`);
          continue;
        }
        const op = doc.paths[match.route.path]?.[s.method.toLowerCase()];
        const response = op?.responses[String(s.status)];
        if (response === undefined) {
          problems.push(`${what}: status not declared for ${match.route.id}`);
          continue;
        }
        if (s.contentType !== 'application/json') {
          if (response.content !== undefined && !(s.contentType in response.content))
            problems.push(`${what}: content type ${s.contentType} not declared`);
          continue;
        }
        if (response.content?.['application/json']?.schema === undefined) {
          problems.push(`${what}: no JSON schema declared`);
          continue;
        }
        const validate = ajv.getSchema(
          `api#/${pointer('paths', match.route.path, s.method.toLowerCase(), 'responses', String(s.status), 'content', 'application/json', 'schema')}`,
        );
        if (validate === undefined) throw new Error(`no schema at ${what}`);
        if (!validate(JSON.parse(s.body))) problems.push(`${what}: ${ajv.errorsText(validate.errors)} in ${s.body.slice(0, 300)}`);
      }
      return problems;
    },
  };
}
