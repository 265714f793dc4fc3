import { fuzzTest } from './fuzz-test.ts';
import { sessionIdTarget } from './targets/session-id.ts';

fuzzTest(sessionIdTarget);
