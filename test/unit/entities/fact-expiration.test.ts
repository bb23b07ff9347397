import { describe, expect, it } from 'vitest';
import { expirationToCommand, parseExpirationSummary } from '../../../src/entities/fact-expiration.ts';

describe('facts expiration -> configure_expiration v1', () => {
  it('carries the setting at the time it was set', () => {
    const row = parseExpirationSummary({ certname: 'a', expires_facts: false, expires_facts_updated: '2026-11-20T10:00:00.000Z' });
    expect(row.version).toEqual({ time: Date.parse('2026-11-20T10:00:00.000Z'), tieBreak: ['false'] });
    expect(expirationToCommand(row, 'newer')).toEqual({
      command: 'configure_expiration',
      version: 1,
      certname: 'a',
      producerTimestamp: '2026-11-20T10:00:00.000Z',
      payload: { certname: 'a', expire: { facts: false }, producer_timestamp: '2026-11-20T10:00:00.000Z' },
    });
  });

  it('writes the winner of a tie 1 ms later, since PuppetDB keeps a setting of equal time', () => {
    const row = parseExpirationSummary({ certname: 'a', expires_facts: false, expires_facts_updated: '2026-11-20T10:00:00.000Z' });
    expect(expirationToCommand(row, 'tie')).toMatchObject({
      producerTimestamp: '2026-11-20T10:00:00.001Z',
      payload: { producer_timestamp: '2026-11-20T10:00:00.001Z' },
    });
  });

  it('rejects a row whose setting is not a boolean', () => {
    expect(() => parseExpirationSummary({ certname: 'a', expires_facts: 'no', expires_facts_updated: '2026-11-20T10:00:00.000Z' })).toThrow(
      /PDBSYNC_ERR_RESPONSE_MALFORMED/,
    );
  });
});
