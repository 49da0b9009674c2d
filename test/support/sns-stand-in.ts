/**
 * SNS's Publish on 127.0.0.1, for a real SNSClient pointed at it (AWS_ENDPOINT_URL_SNS): the Query
 * protocol's form body in, its XML answer out. It keeps every message it was sent.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PublishedMessage {
  readonly topicArn: string;
  readonly subject: string;
  readonly message: string;
}

export async function startSnsStandIn(): Promise<{ url: string; published: PublishedMessage[]; close: () => Promise<void> }> {
  const published: PublishedMessage[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (form.get('Action') !== 'Publish') {
        res.writeHead(400, { 'content-type': 'text/xml' }).end('<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>');
        return;
      }
      published.push({ topicArn: form.get('TopicArn') ?? '', subject: form.get('Subject') ?? '', message: form.get('Message') ?? '' });
      n++;
      res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(
          `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-${n}</MessageId></PublishResult><ResponseMetadata><RequestId>r-${n}</RequestId></ResponseMetadata></PublishResponse>`,
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    published,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
