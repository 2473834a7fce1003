// A wearable's libp2p peer id ("12D3KooW…") carries its Ed25519 public key (identity multihash of
// the protobuf PublicKey), so the patient types or scans only the id and the dapp recovers the
// key the gateway checks it against (services/ingest/device_identity.py `peer_id_for` does the reverse).
import { bytesToHex, type Hex } from 'viem';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const PREFIX = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20]; // identity, 36 bytes, KeyType Ed25519, 32-byte Data

function base58Decode(text: string): Uint8Array | null {
  let value = 0n;
  for (const char of text) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) return null;
    value = value * 58n + BigInt(digit);
  }
  const bytes: number[] = [];
  while (value > 0n) {
    bytes.unshift(Number(value & 0xffn));
    value >>= 8n;
  }
  for (const char of text) {
    if (char !== '1') break;
    bytes.unshift(0); // each leading "1" is a leading zero byte
  }
  return Uint8Array.from(bytes);
}

/** The Ed25519 public key inside a peer id, or null when the text is not an Ed25519 peer id. */
export function ed25519KeyOfPeerId(peerId: string): Hex | null {
  const trimmed = peerId.trim();
  if (trimmed.length < 40 || trimmed.length > 60) return null;
  const bytes = base58Decode(trimmed);
  if (!bytes || bytes.length !== PREFIX.length + 32 || PREFIX.some((b, i) => bytes[i] !== b)) return null;
  return bytesToHex(bytes.slice(PREFIX.length));
}

/** A device's pairing code as it shows it: `<expires_ms>.<86-character base64url signature>`
 * (services/ingest/pairing.py CODE_PATTERN). The gateway checks the signature and the expiry. */
export const PAIRING_CODE = /^[0-9]{1,16}\.[A-Za-z0-9_-]{86}$/;

/** The address a wearable's QR code carries: this dapp's onboarding page with the device and its pairing code filled in. */
export function pairingLink(origin: string, peerId: string, code?: string): string {
  return `${origin}#/onboarding?device=${peerId}${code ? `&code=${code}` : ''}`;
}
