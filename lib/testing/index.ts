export { verifyHissunoToken, type VerifiedHissunoToken } from './hissuno';
export { startFakeServer, type FakeServer, type Fault, type FaultScope, type RecordedRequest, type FakeAnswer, type FakeHandler } from './fake-server';
