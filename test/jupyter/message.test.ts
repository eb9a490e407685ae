/** The wire format: frames, HMAC-SHA256 signatures (checked against Python's hmac), verification, connection files. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeMessage, DELIMITER, encodeMessage, MessageError, newMessage, sign, SignatureHistory } from '../../src/jupyter/message';
import { createConnectionFile, readConnectionFile } from '../../src/jupyter/connection';

const key = 'a0436f6c-1916-498b-8eb9-e81ab9368e84';

describe('Jupyter wire format', () => {
  it('signs the four JSON frames as Python hmac/hashlib does', () => {
    const msg = newMessage('execute_request', { code: 'x = 1', silent: false }, { session: 's1', identities: [Buffer.from('client-id')] });
    const frames = encodeMessage(msg, key);
    assert.equal(frames[0]!.toString(), 'client-id');
    assert.equal(frames[1]!.toString(), DELIMITER);
    const script =
      'import hmac, hashlib, sys; h = hmac.new(sys.argv[1].encode(), digestmod=hashlib.sha256)\nfor p in sys.argv[2:]: h.update(p.encode())\nprint(h.hexdigest())';
    const r = spawnSync('/usr/bin/python3', ['-c', script, key, ...frames.slice(3, 7).map((f) => f.toString())], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(frames[2]!.toString(), r.stdout.trim());
  });

  it('round-trips a message with identities and buffers', () => {
    const msg = newMessage(
      'comm_msg',
      { data: { x: [1, 2] } },
      { session: 's', identities: [Buffer.from('a'), Buffer.from('b')], buffers: [Buffer.from([1, 2, 3])] },
    );
    const back = decodeMessage(encodeMessage(msg, key), key);
    assert.deepEqual(back.identities.map(String), ['a', 'b']);
    assert.deepEqual(back.content, { data: { x: [1, 2] } });
    assert.deepEqual(back.header, msg.header);
    assert.deepEqual([...back.buffers[0]!], [1, 2, 3]);
  });

  it('rejects tampered content, a wrong key, a missing delimiter and malformed JSON', () => {
    const frames = encodeMessage(newMessage('kernel_info_request', {}, { session: 's' }), key);
    const tampered = [...frames];
    tampered[5] = Buffer.from('{"evil":true}'); // the content frame (no identities)
    assert.throws(
      () => decodeMessage(tampered, key),
      (e: unknown) => e instanceof MessageError && e.message === 'invalid signature',
    );
    assert.throws(() => decodeMessage(frames, 'other-key'), /invalid signature/);
    assert.throws(
      () =>
        decodeMessage(
          frames.slice(1).filter((f) => f.toString() !== DELIMITER),
          key,
        ),
      /no <IDS\|MSG> delimiter/,
    );
    const junk = [Buffer.from(DELIMITER), Buffer.from(''), Buffer.from('not json'), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}')];
    assert.throws(() => decodeMessage(junk, ''), /the header frame is not a JSON object/);
    assert.equal(sign('', [Buffer.from('x')]), '', 'an empty key disables signing');
  });

  it('refuses a replayed signed message, remembering a bounded number of signatures', () => {
    const history = new SignatureHistory(4);
    const frames = encodeMessage(newMessage('kernel_info_request', {}, { session: 's' }), 'key');
    assert.equal(decodeMessage(frames, 'key', history).header.msg_type, 'kernel_info_request');
    assert.throws(
      () => decodeMessage(frames, 'key', history),
      (e: unknown) => e instanceof MessageError && /duplicate signature/.test(e.message),
    );
    // Without a history (the client's side), the same frames decode again.
    assert.equal(decodeMessage(frames, 'key').header.msg_type, 'kernel_info_request');
    // Full: the older half is forgotten, the newest signatures are still refused.
    const later = Array.from({ length: 4 }, () => encodeMessage(newMessage('kernel_info_request', {}, { session: 's' }), 'key'));
    for (const f of later) decodeMessage(f, 'key', history);
    assert.throws(() => decodeMessage(later[3]!, 'key', history), MessageError);
  });

  it('writes and validates connection files', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixprec-conn-'));
    const info = await createConnectionFile(path.join(dir, 'k.json'), 'mixprec');
    assert.equal(new Set([info.shell_port, info.iopub_port, info.stdin_port, info.control_port, info.hb_port]).size, 5);
    assert.deepEqual(readConnectionFile(path.join(dir, 'k.json')), info);
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ ...info, hb_port: 'x' }));
    assert.throws(() => readConnectionFile(path.join(dir, 'bad.json')), /bad\.json: hb_port must be a port number, got "x"/);
    assert.throws(() => readConnectionFile(path.join(dir, 'none.json')), /none\.json: cannot read the connection file/);
  });
});
