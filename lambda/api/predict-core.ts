/**
 * The shared core of every predict route (`POST /predict` and the Open Inference Protocol's infer):
 * its type lives here, apart from both routes, so neither imports the other.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Instance } from '../../contract/manifest';
import type { RequestContext } from '../http/api-handler';

/** Runs a predict request whose body `parse` reads into instances, answering the house JSON (`PredictResponse`). */
export type PredictCore = (
  event: APIGatewayProxyEvent,
  ctx: RequestContext,
  parse: (bytes: Buffer, mediaType: string) => Instance[],
) => Promise<APIGatewayProxyResult>;
