/**
 * Whether requests to a Service reached enough pods, and if not, whether
 * waiting could still change that. kube-proxy writes a Service's rules some
 * time after the EndpointSlices list a new pod, and the EndpointSlices follow
 * a pod's readiness some time after the kubelet reports it: a correct
 * submission may answer from one pod for a while. Only what no amount of
 * waiting can change fails before the deadline.
 */

/** One round of requests to a Service, and the cluster's state around it. */
export interface SpreadSample {
  requests: number;
  /** Requests a server answered (a body arrived). */
  answered: number;
  /** Answers per pod, by the pod named in the answer. */
  hits: ReadonlyMap<string, number>;
  /** Pods with a ready endpoint in the Service's EndpointSlices. */
  readyEndpoints: number;
  /** Pods the Service's selector picks (not being deleted), ready or not. */
  selected: number;
  /** Every controller has all its pods and every pod is Ready: no pod is on its way. */
  settled: boolean;
}

export type SpreadVerdict = { verdict: 'pass' } | { verdict: 'retry'; why: string } | { verdict: 'fail'; why: string };

function pods(n: number): string {
  return `${n} pod${n === 1 ? '' : 's'}`;
}

/** The verdict on one sample: pass, fail now because waiting cannot help, or try again until the deadline. */
export function judgeSpread(s: SpreadSample, atLeast: number): SpreadVerdict {
  const reached = s.hits.size;
  if (reached >= atLeast) return { verdict: 'pass' };
  if (s.selected < atLeast && s.settled) {
    return {
      verdict: 'fail',
      why: `the Service's selector picks ${pods(s.selected)} and no controller is making more, so its requests can never reach ${atLeast} different pods`,
    };
  }
  if (s.answered === s.requests && s.answered > 0 && reached === 0) {
    return {
      verdict: 'fail',
      why: `all ${s.requests} requests were answered, but no answer named the pod that sent it: each pod must answer with its own name (its hostname)`,
    };
  }
  if (s.answered < s.requests) {
    return {
      verdict: 'retry',
      why: `${s.requests - s.answered} of ${s.requests} requests got no answer (the Service's rules or its pods may not be in place yet)`,
    };
  }
  if (!s.settled)
    return { verdict: 'retry', why: `answers came from ${pods(reached)} while the Service's pods are still starting` };
  if (s.readyEndpoints >= atLeast) {
    return {
      verdict: 'retry',
      why: `answers came from ${pods(reached)} although the EndpointSlices list ${pods(s.readyEndpoints)} ready: kube-proxy may not have written the rules for the others yet`,
    };
  }
  return {
    verdict: 'retry',
    why: `answers came from ${pods(reached)} and the EndpointSlices list ${pods(s.readyEndpoints)} ready of the ${pods(s.selected)} the selector picks (a pod without the Service's target port is never an endpoint)`,
  };
}
