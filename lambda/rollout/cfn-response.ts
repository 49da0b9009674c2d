/**
 * Answers a CloudFormation custom resource request: a PUT of the result to the pre-signed `ResponseURL`.
 * Without it CloudFormation waits an hour for the resource, so every path must end here.
 */
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';

/** CloudFormation keeps a status reason of at most 4 KB (the whole response body is limited too). */
const MAX_REASON = 1000;

export function responseOf(
  event: CloudFormationCustomResourceEvent,
  status: 'SUCCESS' | 'FAILED',
  reason: string,
  physicalResourceId: string,
  data?: Record<string, string | number>,
): CloudFormationCustomResourceResponse {
  return {
    Status: status,
    Reason: reason.slice(0, MAX_REASON),
    PhysicalResourceId: physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    ...(data ? { Data: data } : {}),
  };
}

export async function sendResponse(responseUrl: string, response: CloudFormationCustomResourceResponse): Promise<void> {
  const body = JSON.stringify(response);
  // The pre-signed URL is signed for an empty content type.
  const res = await fetch(responseUrl, { method: 'PUT', headers: { 'content-type': '' }, body, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`CloudFormation refused the response: HTTP ${res.status}`);
}
