import { existsSync } from 'node:fs';
import * as k8s from '../vendor/kubernetes-client.js';
import { GraderError, SubmissionAssertionError } from '../errors.js';

/** Which cluster: a kubeconfig file and one of its contexts. */
export interface ClusterRef {
  kubeconfig: string;
  context: string;
}

/** Loads a kubeconfig; a missing file, one that does not parse or an unknown context is a GraderError naming it. */
export function loadKubeConfig(ref: ClusterRef): k8s.KubeConfig {
  if (!existsSync(ref.kubeconfig)) throw new GraderError(`kubeconfig ${ref.kubeconfig}: no such file`);
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(ref.kubeconfig);
  } catch (err) {
    throw new GraderError(`kubeconfig ${ref.kubeconfig} does not parse: ${(err as Error).message}`, { cause: err });
  }
  const names = kc.getContexts().map((c) => c.name);
  if (!names.includes(ref.context)) {
    throw new GraderError(
      `kubeconfig ${ref.kubeconfig}: no context "${ref.context}" (it has: ${names.join(', ') || 'none'})`,
    );
  }
  kc.setCurrentContext(ref.context);
  return kc;
}

interface ApiLikeError {
  code?: number | string;
  body?: unknown;
  message?: string;
}

function statusMessage(body: unknown): string | undefined {
  if (typeof body === 'string') {
    try {
      return statusMessage(JSON.parse(body) as unknown);
    } catch {
      return body.slice(0, 500);
    }
  }
  if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  return undefined;
}

/** The HTTP status of an API error, or undefined when the server was never reached. */
export function httpStatus(err: unknown): number | undefined {
  const code = (err as ApiLikeError | undefined)?.code;
  return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
}

export function describeApiError(err: unknown): string {
  const e = err as ApiLikeError;
  const status = httpStatus(err);
  const msg = statusMessage(e?.body) ?? e?.message ?? String(err);
  return status ? `HTTP ${status}: ${msg}` : msg;
}

/**
 * Turns an API error into whose fault it is: a request the API server refused
 * as invalid or forbidden (4xx) is the submission's; anything else (no answer,
 * 5xx) is the grader's.
 */
export function apiFault(err: unknown, doing: string): Error {
  const status = httpStatus(err);
  if (status !== undefined && status >= 400 && status < 500 && status !== 401 && status !== 408 && status !== 429) {
    return new SubmissionAssertionError(`${doing}: the API server refused it: ${describeApiError(err)}`, {
      cause: err,
    });
  }
  return new GraderError(`${doing}: ${describeApiError(err)}`, { cause: err });
}

/** Wraps an API call so that an unreachable API server is a GraderError that names the server. */
export async function api<T>(kc: k8s.KubeConfig, doing: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (httpStatus(err) === undefined) {
      throw new GraderError(
        `${doing}: the API server ${kc.getCurrentCluster()?.server ?? '?'} did not answer: ${describeApiError(err)}`,
        { cause: err },
      );
    }
    throw err;
  }
}

/**
 * An API error that is the grader's whatever the API server answered (reading kube-system, a
 * fixture, the grader's own objects), as a GraderError naming what was being done; one that is
 * a GraderError already (from `api`) is kept as it is.
 */
export function graderFault(err: unknown, doing: string): Error {
  if (err instanceof GraderError) return err;
  return new GraderError(`${doing}: ${describeApiError(err)}`, { cause: err });
}

/** An API call whose every failure is the grader's: `api`, then `graderFault`. */
export async function graderApi<T>(kc: k8s.KubeConfig, doing: string, call: () => Promise<T>): Promise<T> {
  try {
    return await api(kc, doing, call);
  } catch (err) {
    throw graderFault(err, doing);
  }
}
