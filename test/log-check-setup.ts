import { afterAll, afterEach, expect } from 'vitest';
import { takeLogViolations } from './log-check.ts';

// Every test file: the log lines its tests collected must index under Filebeat's ECS template.
const expectClean = () => expect(takeLogViolations().violations, 'log lines Elasticsearch would refuse under the ECS template').toEqual([]);
afterEach(expectClean);
afterAll(expectClean);
