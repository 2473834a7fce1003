import encodeQR from 'qr';
import decodeQR from 'qr/decode.js';
import { describe, expect, it } from 'vitest';
import { ed25519KeyOfPeerId, PAIRING_CODE, pairingLink } from '../src/lib/peerId';

// services/gateway/peer_id.py: ed25519_peer_id(bytes(range(32)))
const PEER_ID = '12D3KooW9pP4Seg3kZYhySpuVjn1RPdQBsUFZKiFxGMGQN5MeL6A';
const CODE = `1800000000000.${'k3v-_Q'.repeat(14)}Ag`; // 86 characters after the dot

describe('peer ids', () => {
  it('recovers the Ed25519 key the gateway checks the id against', () => {
    expect(ed25519KeyOfPeerId(PEER_ID)).toBe(`0x${Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join('')}`);
    expect(ed25519KeyOfPeerId(` ${PEER_ID}\n`)).not.toBeNull();
  });

  it('rejects what is not an Ed25519 peer id', () => {
    expect(ed25519KeyOfPeerId(PEER_ID.slice(0, -1))).toBeNull();
    expect(ed25519KeyOfPeerId(`${PEER_ID.slice(0, -1)}0`)).toBeNull(); // 0 is not base58
    expect(ed25519KeyOfPeerId('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N')).toBeNull(); // an RSA-style sha256 id
    expect(ed25519KeyOfPeerId('')).toBeNull();
  });

  it('takes a pairing code in the shape the device shows it, and nothing else', () => {
    // services/ingest/pairing.py pairing_code: "<expires_ms>.<86-character base64url signature>"
    expect(PAIRING_CODE.test(CODE)).toBe(true);
    for (const bad of ['', CODE.slice(0, -1), `${CODE}A`, CODE.replace('.', ''), CODE.replace('-', '+'), `x${CODE}`]) expect(PAIRING_CODE.test(bad)).toBe(false);
  });

  it('the QR code a wearable shows decodes back to the pairing link', () => {
    expect(pairingLink('http://127.0.0.1:5173/', PEER_ID)).toBe(`http://127.0.0.1:5173/#/onboarding?device=${PEER_ID}`);
    const link = pairingLink('http://127.0.0.1:5173/', PEER_ID, CODE);
    expect(link).toBe(`http://127.0.0.1:5173/#/onboarding?device=${PEER_ID}&code=${CODE}`);
    const modules = encodeQR(link, 'raw', { ecc: 'medium', border: 2 });
    const scale = 4;
    const size = modules.length * scale;
    const data = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const value = modules[Math.floor(y / scale)][Math.floor(x / scale)] ? 0 : 255;
      data.fill(value, (y * size + x) * 3, (y * size + x) * 3 + 3);
    }
    expect(decodeQR({ width: size, height: size, data })).toBe(link);
  });
});
