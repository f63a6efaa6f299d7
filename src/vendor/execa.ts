/*
 * execa, as every module of kgrade imports it. Compiled, this file re-exports execa;
 * `npm run build` replaces the compiled file with one bundle of execa and its
 * dependencies (scripts/bundle-client.mjs): about 0.05 s to load instead of 0.2 s on
 * this machine, paid by every kgrade command. Without the bundle step it works, slower.
 */
export * from 'execa';
