import { unavailable } from './http-error.js';

const connectionProblem =
  /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EPIPE|max retries|MaxRetriesPerRequest|LOADING|CLUSTERDOWN|READONLY|MASTERDOWN/i;

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
