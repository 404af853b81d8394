import { unavailable } from './http-error.js';

/**
 * Connection loss, failovers and Cluster resharding (redirections ioredis could not follow inside
 * a pipeline, a slot map being refreshed): all transient, all "retry later", never a 500.
 */
const connectionProblem = new RegExp(
  [
    "Stream isn't writeable",
    'Connection is closed',
    'ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EPIPE',
    'max retries|MaxRetriesPerRequest',
    'LOADING|CLUSTERDOWN|READONLY|MASTERDOWN',
    // Redis reply codes that lead the message (a bare "ASK" elsewhere could be anything).
    '^(TRYAGAIN|MOVED|ASK|NOREPLICAS) ',
    "Cluster isn't ready|Cluster is disconnect|Node is disconnected|None of startup nodes is available",
    'Failed to refresh slots cache|Too many Cluster redirections|should belong to the same slots allocation group',
    'All sentinels are unreachable|Command timed out|Socket timeout',
  ].join('|'),
  'i',
);

/** Whether an error means "Redis cannot be reached" rather than "the command was wrong". */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || connectionProblem.test(err.message);
}

/**
 * Runs one Redis-backed operation with a deadline. A connection problem or the
 * deadline becomes 503 `unavailable`, so a request never hangs on a dead Redis.
 */
export async function withRedis<T>(timeoutMs: number, operation: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable('Redis did not answer in time')), timeoutMs);
  });
  try {
    return await Promise.race([operation(), deadline]);
  } catch (err) {
    if (isRedisUnavailable(err)) throw unavailable(undefined, err);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
