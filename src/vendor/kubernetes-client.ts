/*
 * The Kubernetes client, as every module of kgrade imports it. Compiled, this file
 * re-exports @kubernetes/client-node; `npm run build` then replaces the compiled file
 * with one bundle of the client and its dependencies (scripts/bundle-client.mjs).
 * Node loads the client's 2 500 generated model modules one by one in about 0.8 s on
 * this machine, the bundle in about 0.2 s: that is most of a warm cluster grade's time
 * outside its scenarios. Without the bundle step everything works, only slower.
 */
export * from '@kubernetes/client-node';
