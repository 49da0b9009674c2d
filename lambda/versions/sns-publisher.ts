/** Promotion decisions to the alarm topic, where every operator of the deployment already listens. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { DecisionPublisher } from './promotion';

export function snsPublisher(sns: SNSClient, topicArn: string): DecisionPublisher {
  return async (subject, message) => {
    await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message }));
  };
}
