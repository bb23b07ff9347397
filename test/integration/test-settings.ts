// Settings every test sidecar shares, in a module without vitest: scripts use it too.

/**
 * The test cluster's servers run one command thread (two cores), on which PuppetDB
 * 8.8.1's duplicate-report race cannot happen: the sidecar submits reports at once,
 * without sync.report-settle's wait (report-race.test.ts tests it on servers of
 * four threads). Inside a sync block.
 */
export const NO_REPORT_SETTLE = '  report-settle: 0s\n';
