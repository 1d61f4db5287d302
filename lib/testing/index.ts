export { verifyHissunoToken, type VerifiedHissunoToken } from './hissuno';
export { startFakeServer, type FakeServer, type Fault, type FaultScope, type RecordedRequest, type FakeAnswer, type FakeHandler } from './fake-server';
export { startFakeNevermined, FAKE_NEVERMINED_CODES, type FakeNevermined, type FakeNeverminedOptions, type FakeNeverminedOrg, type FakeIssuedSession, type FakeNeverminedError } from './nevermined';
export { startFakeWonderful, FAKE_WONDERFUL_CODES, type FakeWonderful, type FakeWonderfulOptions, type FakeWonderfulAnswerFormat, type FakeWonderfulClaims, type FakeWonderfulIssue } from './wonderful';
export { startFakeNeuroon, createNeuroonWidgetToken, checkNeuroonWidgetToken, verifyNeuroonWidgetToken, type FakeNeuroon, type FakeNeuroonOptions, type FakeNeuroonShop, type FakeNeuroonIssue, type NeuroonTokenCheck, type NeuroonTokenProblem } from './neuroon';
export { startFakeNeutWidgetHost, type FakeNeutWidgetHost, type FakeNeutWidgetHostOptions, type FakeNeutTenant, type FakeNeutVerifiedEmbed, type FakeNeutRefusedEmbed, type FakeNeutRefusalCode } from './neut-widget-host';
export { startFakeLiveblocks, type FakeLiveblocks, type FakeLiveblocksOptions, type FakeLiveblocksClaims, type FakeLiveblocksIssue } from './liveblocks';
export { startFakeHubSpot, FAKE_HUBSPOT_CATEGORIES, type FakeHubSpot, type FakeHubSpotOptions, type FakeHubSpotClaims, type FakeHubSpotIssue, type FakeHubSpotError } from './hubspot';
