export { verifyHissunoToken, type VerifiedHissunoToken } from './hissuno';
