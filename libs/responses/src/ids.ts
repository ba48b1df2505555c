import { randomBytes } from 'node:crypto';

/** Ids shaped like OpenAI's: `resp_`, `msg_`, `fc_` and `fco_` followed by 48 hex digits. */
const id = (prefix: string) => `${prefix}_${randomBytes(24).toString('hex')}`;

export const newResponseId = () => id('resp');
export const newMessageId = () => id('msg');
export const newFunctionCallId = () => id('fc');
export const newFunctionCallOutputId = () => id('fco');
