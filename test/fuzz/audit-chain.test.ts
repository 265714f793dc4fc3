import { fuzzTest } from './fuzz-test.ts';
import { auditChainTarget } from './targets/audit-chain.ts';

fuzzTest(auditChainTarget);
