import path from 'node:path';
import { REPO_ROOT } from '../../paths.js';
import { CLUSTER_OPTIONS, clusterChoice, installSubmissionAdmission, providerFor } from '../environment.js';
import { EXIT } from '../exit.js';
import { log } from '../output.js';
import { defineVerb } from '../verb.js';

export const cluster = defineVerb({
  name: 'cluster',
  synopsis: ['cluster up|down|status|logs [DIR]|load IMAGE [cluster options]'],
  summary: 'Drive the cluster that cluster labs run against: up, down, status, logs, load.',
  description: `Drive the cluster that cluster labs run against: kind (default; created or
reused, built offline) or an existing cluster named by kubeconfig and context.`,
  subverbs: [
    {
      name: 'up',
      synopsis: ['cluster up [cluster options]'],
      summary: 'create the cluster, or reuse it when healthy; prints its nodes and kubeconfig',
      description: `kind: build what is missing (node image, registry), then create the cluster or reuse
a healthy one; an existing cluster: check that it is healthy (exit 3 when not). Prints
the nodes and the kubeconfig and context to use.`,
    },
    {
      name: 'down',
      synopsis: ['cluster down [cluster options]'],
      summary: 'remove the cluster: nodes, registry, network, kubeconfig, host rules',
      description: `kind: remove the cluster's nodes, registry, network, kubeconfig and host rules.
An existing cluster is not kgrade's to delete: only what kgrade made in it is removed.`,
    },
    {
      name: 'status',
      synopsis: ['cluster status [cluster options]'],
      summary: 'the nodes, the kube-system pods and any problem; exit 3 when not healthy',
      description: 'The server, version and nodes; "healthy", or the problems seen (exit 3).',
    },
    {
      name: 'logs',
      synopsis: ['cluster logs [DIR] [cluster options]'],
      summary: "export the nodes' logs into DIR (default reports/cluster-logs)",
      description: "kind: export the nodes' logs into DIR (default reports/cluster-logs); prints where they are.",
    },
    {
      name: 'load',
      synopsis: ['cluster load IMAGE [cluster options]'],
      summary: "make a local image available to the cluster's nodes",
      description: "kind: make IMAGE, an image of this machine's docker, available to the cluster's nodes.",
    },
  ],
  options: CLUSTER_OPTIONS,
  async run({ values, positionals, usage }) {
    const [action, arg] = positionals;
    const provider = await providerFor(clusterChoice(values));
    switch (action) {
      case 'up': {
        const s = await provider.up(log);
        await installSubmissionAdmission(provider.kubeConfig(), true);
        process.stdout.write(
          `${s.name}: ${s.version}, ${s.nodes.map((n) => `${n.name} ${n.ready ? 'Ready' : 'NotReady'} ${n.internalIP}`).join(', ')}\nkubeconfig: ${s.ref.kubeconfig} (context ${s.ref.context})\n`,
        );
        return EXIT.graded;
      }
      case 'status': {
        const s = await provider.status();
        process.stdout.write(
          `${s.name} (${s.provider}) ${s.server} ${s.version}\n${s.nodes.map((n) => `  node ${n.name}: ${n.ready ? 'Ready' : 'NotReady'} ${n.internalIP} pods ${n.podCIDR}`).join('\n')}\n`,
        );
        if (s.problems.length) {
          process.stdout.write(`problems:\n${s.problems.map((p) => `  - ${p}`).join('\n')}\n`);
          return EXIT.infrastructure;
        }
        process.stdout.write('healthy\n');
        return EXIT.graded;
      }
      case 'down':
        await provider.down(log);
        return EXIT.graded;
      case 'load':
        if (!arg) break;
        await provider.loadImage(arg, log);
        return EXIT.graded;
      case 'logs':
        process.stdout.write(
          `${await provider.exportLogs(path.resolve(arg ?? path.join(REPO_ROOT, 'reports', 'cluster-logs')))}\n`,
        );
        return EXIT.graded;
      default:
        break;
    }
    return usage();
  },
});
