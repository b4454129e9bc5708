/**
 * A worker proves in its hello that it holds the secret key of the public key it names: the proof is an HMAC of the
 * hello's name, routing id and epoch, keyed with the X25519 secret the two sides share (the worker's secret key with
 * the host's public key; the host computes it from its secret key and the worker's public key). CURVE already keeps
 * the hello unreadable to anyone else on the wire; this binds the *message* to a key, which ZeroMQ does not tell the
 * receiver, so that one authorized worker cannot speak under another's name.
 */
import { createHmac, createPrivateKey, createPublicKey, diffieHellman, timingSafeEqual } from "node:crypto";
import { z85Decode } from "../transport/z85.ts";

function raw(keyZ85: string, what: string): Buffer {
  const bytes = z85Decode(keyZ85);
  if (bytes?.length !== 32) throw new Error(`${what} is not a CURVE key`);
  return bytes;
}

function sharedSecret(ownSecretZ85: string, ownPublicZ85: string, peerPublicZ85: string): Buffer {
  const privateKey = createPrivateKey({
    key: {
      kty: "OKP",
      crv: "X25519",
      d: raw(ownSecretZ85, "the secret key").toString("base64url"),
      x: raw(ownPublicZ85, "the public key").toString("base64url"),
    },
    format: "jwk",
  });
  const publicKey = createPublicKey({
    key: { kty: "OKP", crv: "X25519", x: raw(peerPublicZ85, "the peer's public key").toString("base64url") },
    format: "jwk",
  });
  return diffieHellman({ privateKey, publicKey });
}

export interface ProofInput {
  name: string;
  routingId: string;
  epoch: string;
}

function mac(shared: Buffer, input: ProofInput): Buffer {
  return createHmac("sha256", shared)
    .update(`neko-worker-hello\0${input.name}\0${input.routingId}\0${input.epoch}`)
    .digest();
}

/** The worker's side. */
export function helloProof(
  own: { publicKey: string; secretKey: string },
  hostPublicKey: string,
  input: ProofInput,
): Buffer {
  return mac(sharedSecret(own.secretKey, own.publicKey, hostPublicKey), input);
}

/** The host's side: true when `proof` was made with the secret key of `workerPublicKey`. */
export function checkHelloProof(
  host: { publicKey: string; secretKey: string },
  workerPublicKey: string,
  input: ProofInput,
  proof: Uint8Array,
): boolean {
  let expected: Buffer;
  try {
    expected = mac(sharedSecret(host.secretKey, host.publicKey, workerPublicKey), input);
  } catch {
    return false;
  }
  return proof.length === expected.length && timingSafeEqual(proof, expected);
}
