import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Express } from 'express';
import type { Config, Logger } from '@maskq/shared';
import { basicAuth } from './basic-auth.js';

export const queueDashboardPath = '/admin/queues';

export interface QueueDashboardOptions {
  config: Pick<Config, 'ADMIN_USER' | 'ADMIN_PASSWORD'>;
  /** The queues to show: the detection queue and the webhooks queue. */
  queues: readonly Queue[];
  logger: Pick<Logger, 'info' | 'warn'>;
}

export interface QueueDashboard {
  enabled: boolean;
  path: string;
}

/**
 * bull-board at /admin/queues behind HTTP basic auth. Off (nothing mounted,
 * so the app's 404) unless ADMIN_USER and ADMIN_PASSWORD are both set: the
 * dashboard can retry, promote and delete jobs, so it never runs open.
 */
export function mountQueueDashboard(app: Express, { config, queues, logger }: QueueDashboardOptions): QueueDashboard {
  const user = config.ADMIN_USER;
  const password = config.ADMIN_PASSWORD;
  if (!user || !password) {
    logger.info({ path: queueDashboardPath }, 'queue dashboard disabled: set ADMIN_USER and ADMIN_PASSWORD to enable it');
    return { enabled: false, path: queueDashboardPath };
  }
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(queueDashboardPath);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'maskq queues' } },
  });
  app.use(queueDashboardPath, basicAuth({ user, password, realm: 'maskq queues' }), serverAdapter.getRouter());
  logger.info({ path: queueDashboardPath, queues: queues.map((q) => q.name) }, 'queue dashboard enabled (basic auth)');
  return { enabled: true, path: queueDashboardPath };
}
