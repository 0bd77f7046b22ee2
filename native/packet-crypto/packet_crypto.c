/*
 * Per-packet protection for chacha20-poly1305@openssh.com, aes{128,256}-gcm@openssh.com and
 * aes{128,192,256}-ctr with hmac-sha2-{256,512}[-etm@openssh.com], with OpenSSL's own primitives: the
 * OpenSSL that Node is linked with (Node exports libcrypto's symbols to addons).
 *
 * node:crypto offers the same ciphers, but only through a new context per packet (or per MAC) whose output
 * is a fresh Buffer, and no Poly1305 at all: OpenSSH's chacha20-poly1305 tags the ciphertext with Poly1305 alone (not
 * RFC 8439's AEAD), so src/crypto/cipher/ had to compute it in WebAssembly. Here each direction keeps its
 * contexts for the life of its keys and re-keys only the IV per packet; sealing writes the whole wire packet
 * into one buffer and opening decrypts in place, after the tag has been checked. Nothing here frames,
 * pads or parses: src/crypto/cipher/ keeps that, and falls back to node:crypto where this is not built.
 *
 * Key material lives in the contexts and is wiped when the JavaScript handle is collected.
 */
#define NAPI_VERSION 4
#define ADDON_NAME "packet-crypto"
#include "tether_addon.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TAG_LENGTH 16

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

/* Arguments: the handle's struct, then Buffers and uint32s as the function declares. */
static int get_bytes(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer) return 0;
  return napi_get_buffer_info(env, value, (void **)data, length) == napi_ok;
}

static int get_handle(napi_env env, napi_value value, void **handle) {
  return napi_get_value_external(env, value, handle) == napi_ok && *handle != NULL;
}

/* The function's first `count` arguments into argv (fewer given: the rest are undefined, and refused). */
#define ARGUMENTS(count)                                                             \
  size_t argc = (count);                                                             \
  napi_value argv[(count)];                                                          \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));                       \
  if (argc < (count)) return throw_error(env, "packet-crypto: too few arguments")

/* A JavaScript handle owning `state`, freed by `release` when collected (and at once if wrapping fails). */
static napi_value wrap_state(napi_env env, void *state, napi_finalize release) {
  napi_value handle;
  if (napi_create_external(env, state, release, NULL, &handle) != napi_ok) {
    release(env, state, NULL);
    return throw_error(env, "packet-crypto: Node-API call failed");
  }
  return handle;
}

static napi_value boolean_value(napi_env env, bool value) {
  napi_value result;
  CHECK(napi_get_boolean(env, value, &result));
  return result;
}

/* A packet_length field (RFC 4253 §6: uint32, big-endian) as a JavaScript number. */
static napi_value packet_length_value(napi_env env, const uint8_t field[4]) {
  napi_value result;
  CHECK(napi_create_uint32(env, ((uint32_t)field[0] << 24) | ((uint32_t)field[1] << 16) | ((uint32_t)field[2] << 8) | field[3], &result));
  return result;
}

/* ---- chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305) ------------------------------- */

typedef struct {
  EVP_CIPHER_CTX *length_ctx; /* K_1: the 4-byte packet_length */
  EVP_CIPHER_CTX *body_ctx;   /* K_2: the Poly1305 key (block 0) and the body (block 1 on) */
  EVP_MAC_CTX *mac;
  int encrypt;
} ChachaPoly;

static EVP_CIPHER *chacha20_cipher;
static EVP_MAC *poly1305_mac;
static EVP_CIPHER *gcm128_cipher;
static EVP_CIPHER *gcm256_cipher;
static EVP_MAC *hmac_mac;
static EVP_CIPHER *ctr_ciphers[3]; /* AES-128-CTR, AES-192-CTR, AES-256-CTR */

static void chacha_free(napi_env env, void *data, void *hint) {
  ChachaPoly *state = data;
  EVP_CIPHER_CTX_free(state->length_ctx);
  EVP_CIPHER_CTX_free(state->body_ctx);
  EVP_MAC_CTX_free(state->mac);
  free(state);
}

/*
 * OpenSSL's ChaCha20 IV is state words 12..15 loaded little-endian: an 8-byte block counter (little-endian)
 * and OpenSSH's 8-byte nonce, the sequence number as uint64 big-endian. Sequence numbers are uint32, so
 * nonce bytes 8..11 stay zero.
 */
static void chacha_iv(uint8_t iv[16], uint32_t sequence) {
  memset(iv, 0, 16);
  iv[12] = (uint8_t)(sequence >> 24);
  iv[13] = (uint8_t)(sequence >> 16);
  iv[14] = (uint8_t)(sequence >> 8);
  iv[15] = (uint8_t)sequence;
}

/* chachaPoly(key: Buffer(64), encrypt: boolean) → handle */
static napi_value chacha_new(napi_env env, napi_callback_info info) {
  ARGUMENTS(2);
  uint8_t *key;
  size_t key_length;
  bool encrypt;
  if (!get_bytes(env, argv[0], &key, &key_length) || key_length != 64) return throw_error(env, "chachaPoly: a 64-byte key");
  CHECK(napi_get_value_bool(env, argv[1], &encrypt));
  if (chacha20_cipher == NULL || poly1305_mac == NULL) return throw_error(env, "chachaPoly: OpenSSL lacks ChaCha20 or Poly1305");
  ChachaPoly *state = calloc(1, sizeof *state);
  if (state == NULL) return throw_error(env, "chachaPoly: out of memory");
  state->encrypt = encrypt;
  state->length_ctx = EVP_CIPHER_CTX_new();
  state->body_ctx = EVP_CIPHER_CTX_new();
  state->mac = EVP_MAC_CTX_new(poly1305_mac);
  uint8_t iv[16] = {0};
  /* PROTOCOL.chacha20poly1305: K_2 is the first 32 bytes of the key, K_1 the second. Both directions only
   * XOR keystream, so the contexts always "encrypt". */
  if (state->length_ctx == NULL || state->body_ctx == NULL || state->mac == NULL ||
      !EVP_CipherInit_ex2(state->body_ctx, chacha20_cipher, key, iv, 1, NULL) ||
      !EVP_CipherInit_ex2(state->length_ctx, chacha20_cipher, key + 32, iv, 1, NULL)) {
    chacha_free(env, state, NULL);
    return throw_error(env, "chachaPoly: OpenSSL could not set the keys");
  }
  return wrap_state(env, state, chacha_free);
}

static int chacha_xor(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t length) {
  int written = 0;
  return length == 0 || (length <= INT32_MAX && EVP_CipherUpdate(ctx, out, &written, in, (int)length) && (size_t)written == length);
}

/* K_2 from block 0 for `sequence`: the Poly1305 key, leaving body_ctx at block 1 for the body. */
static int chacha_start_body(ChachaPoly *state, uint32_t sequence, uint8_t poly_key[64]) {
  static const uint8_t zeros[64] = {0};
  uint8_t iv[16];
  chacha_iv(iv, sequence);
  return EVP_CipherInit_ex2(state->body_ctx, NULL, NULL, iv, 1, NULL) && chacha_xor(state->body_ctx, poly_key, zeros, 64);
}

static int poly1305(ChachaPoly *state, const uint8_t key[32], const uint8_t *data, size_t length, uint8_t tag[TAG_LENGTH]) {
  size_t written = 0;
  return EVP_MAC_init(state->mac, key, 32, NULL) && EVP_MAC_update(state->mac, data, length) &&
         EVP_MAC_final(state->mac, tag, &written, TAG_LENGTH) && written == TAG_LENGTH;
}

/* chachaPolyLength(handle, sequence, header: Buffer(>= 4)) → packet_length, decrypted but not yet authentic */
static napi_value chacha_length(napi_env env, napi_callback_info info) {
  ARGUMENTS(3);
  ChachaPoly *state;
  uint32_t sequence;
  uint8_t *header;
  size_t header_length;
  if (!get_handle(env, argv[0], (void **)&state) || !get_bytes(env, argv[2], &header, &header_length) || header_length < 4) {
    return throw_error(env, "chachaPolyLength: (handle, sequence, header)");
  }
  CHECK(napi_get_value_uint32(env, argv[1], &sequence));
  uint8_t iv[16], clear[4];
  chacha_iv(iv, sequence);
  if (!EVP_CipherInit_ex2(state->length_ctx, NULL, NULL, iv, 1, NULL) || !chacha_xor(state->length_ctx, clear, header, 4)) {
    return throw_error(env, "chachaPolyLength: OpenSSL failed");
  }
  return packet_length_value(env, clear);
}

/*
 * chachaPolySeal(handle, sequence, packet, out): `packet` is the framed plaintext (packet_length first), `out`
 * has room for it and the tag. Writes encrypted length || encrypted body || Poly1305 tag over both.
 */
static napi_value chacha_seal(napi_env env, napi_callback_info info) {
  ARGUMENTS(4);
  ChachaPoly *state;
  uint32_t sequence;
  uint8_t *packet, *out;
  size_t length, out_length;
  if (!get_handle(env, argv[0], (void **)&state) || !state->encrypt || !get_bytes(env, argv[2], &packet, &length) ||
      !get_bytes(env, argv[3], &out, &out_length) || length < 5 || out_length != length + TAG_LENGTH) {
    return throw_error(env, "chachaPolySeal: (sealing handle, sequence, packet, out of packet.length + 16)");
  }
  CHECK(napi_get_value_uint32(env, argv[1], &sequence));
  uint8_t iv[16], poly_key[64];
  chacha_iv(iv, sequence);
  int ok = EVP_CipherInit_ex2(state->length_ctx, NULL, NULL, iv, 1, NULL) && chacha_xor(state->length_ctx, out, packet, 4) &&
           chacha_start_body(state, sequence, poly_key) && chacha_xor(state->body_ctx, out + 4, packet + 4, length - 4) &&
           poly1305(state, poly_key, out, length, out + length);
  OPENSSL_cleanse(poly_key, sizeof poly_key);
  if (!ok) return throw_error(env, "chachaPolySeal: OpenSSL failed");
  return NULL;
}

/*
 * chachaPolyOpen(handle, sequence, packet) → whether the tag is authentic. `packet` is the whole wire packet
 * (encrypted length, body, tag); when authentic, the body is decrypted in place (bytes 4 .. length - 16).
 */
static napi_value chacha_open(napi_env env, napi_callback_info info) {
  ARGUMENTS(3);
  ChachaPoly *state;
  uint32_t sequence;
  uint8_t *packet;
  size_t length;
  if (!get_handle(env, argv[0], (void **)&state) || state->encrypt || !get_bytes(env, argv[2], &packet, &length) ||
      length < 4 + TAG_LENGTH) {
    return throw_error(env, "chachaPolyOpen: (opening handle, sequence, packet)");
  }
  CHECK(napi_get_value_uint32(env, argv[1], &sequence));
  size_t end = length - TAG_LENGTH;
  uint8_t poly_key[64], tag[TAG_LENGTH];
  int ok = chacha_start_body(state, sequence, poly_key) && poly1305(state, poly_key, packet, end, tag);
  OPENSSL_cleanse(poly_key, sizeof poly_key);
  if (!ok) return throw_error(env, "chachaPolyOpen: OpenSSL failed");
  bool authentic = CRYPTO_memcmp(tag, packet + end, TAG_LENGTH) == 0;
  if (authentic && !chacha_xor(state->body_ctx, packet + 4, packet + 4, end - 4)) return throw_error(env, "chachaPolyOpen: OpenSSL failed");
  return boolean_value(env, authentic);
}

/* ---- aes{128,256}-gcm@openssh.com (RFC 5647, OpenSSH PROTOCOL §1.6) ---------------------------------- */

typedef struct {
  EVP_CIPHER_CTX *ctx;
  uint8_t nonce[12];
  int encrypt;
} Gcm;

static void gcm_free(napi_env env, void *data, void *hint) {
  Gcm *state = data;
  EVP_CIPHER_CTX_free(state->ctx);
  OPENSSL_cleanse(state, sizeof *state);
  free(state);
}

/* gcm(key: Buffer(16 or 32), iv: Buffer(12), encrypt: boolean) → handle */
static napi_value gcm_new(napi_env env, napi_callback_info info) {
  ARGUMENTS(3);
  uint8_t *key, *iv;
  size_t key_length, iv_length;
  bool encrypt;
  if (!get_bytes(env, argv[0], &key, &key_length) || (key_length != 16 && key_length != 32) ||
      !get_bytes(env, argv[1], &iv, &iv_length) || iv_length != 12) {
    return throw_error(env, "gcm: a 16- or 32-byte key and a 12-byte IV");
  }
  CHECK(napi_get_value_bool(env, argv[2], &encrypt));
  EVP_CIPHER *cipher = key_length == 16 ? gcm128_cipher : gcm256_cipher;
  if (cipher == NULL) return throw_error(env, "gcm: OpenSSL lacks AES-GCM");
  Gcm *state = calloc(1, sizeof *state);
  if (state == NULL) return throw_error(env, "gcm: out of memory");
  state->encrypt = encrypt;
  memcpy(state->nonce, iv, 12);
  state->ctx = EVP_CIPHER_CTX_new();
  if (state->ctx == NULL || !EVP_CipherInit_ex2(state->ctx, cipher, key, NULL, encrypt, NULL)) {
    gcm_free(env, state, NULL);
    return throw_error(env, "gcm: OpenSSL could not set the key");
  }
  return wrap_state(env, state, gcm_free);
}

/* RFC 5647 §7.1: the 8-byte invocation counter after the 4-byte fixed field, incremented per packet. */
static void gcm_advance(Gcm *state) {
  for (int i = 11; i >= 4; i--) {
    if (++state->nonce[i] != 0) return;
  }
}

/* The packet_length field (clear) is the AAD; the rest up to the tag is the ciphertext (RFC 5647 §7.3). */
static int gcm_run(Gcm *state, const uint8_t *in, uint8_t *out, size_t length, uint8_t *tag) {
  int written = 0;
  if (length > INT32_MAX || !EVP_CipherInit_ex2(state->ctx, NULL, NULL, state->nonce, state->encrypt, NULL)) return 0;
  if (!state->encrypt && !EVP_CIPHER_CTX_ctrl(state->ctx, EVP_CTRL_GCM_SET_TAG, TAG_LENGTH, tag)) return 0;
  if (!EVP_CipherUpdate(state->ctx, NULL, &written, in, 4)) return 0;
  if (!EVP_CipherUpdate(state->ctx, out + 4, &written, in + 4, (int)(length - 4)) || (size_t)written != length - 4) return 0;
  if (EVP_CipherFinal_ex(state->ctx, out + length, &written) <= 0) return -1;
  if (state->encrypt && !EVP_CIPHER_CTX_ctrl(state->ctx, EVP_CTRL_GCM_GET_TAG, TAG_LENGTH, tag)) return 0;
  gcm_advance(state);
  return 1;
}

/* gcmSeal(handle, packet, out): out = packet_length || ciphertext || tag, out.length = packet.length + 16. */
static napi_value gcm_seal(napi_env env, napi_callback_info info) {
  ARGUMENTS(3);
  Gcm *state;
  uint8_t *packet, *out;
  size_t length, out_length;
  if (!get_handle(env, argv[0], (void **)&state) || !state->encrypt || !get_bytes(env, argv[1], &packet, &length) ||
      !get_bytes(env, argv[2], &out, &out_length) || length < 5 || out_length != length + TAG_LENGTH) {
    return throw_error(env, "gcmSeal: (sealing handle, packet, out of packet.length + 16)");
  }
  memcpy(out, packet, 4);
  if (gcm_run(state, packet, out, length, out + length) != 1) return throw_error(env, "gcmSeal: OpenSSL failed");
  return NULL;
}

/* gcmOpen(handle, packet) → whether authentic; the ciphertext is decrypted in place, and used only if so. */
static napi_value gcm_open(napi_env env, napi_callback_info info) {
  ARGUMENTS(2);
  Gcm *state;
  uint8_t *packet;
  size_t length;
  if (!get_handle(env, argv[0], (void **)&state) || state->encrypt || !get_bytes(env, argv[1], &packet, &length) ||
      length < 4 + TAG_LENGTH) {
    return throw_error(env, "gcmOpen: (opening handle, packet)");
  }
  size_t end = length - TAG_LENGTH;
  int outcome = gcm_run(state, packet, packet, end, packet + end);
  if (outcome == 0) return throw_error(env, "gcmOpen: OpenSSL failed");
  return boolean_value(env, outcome == 1);
}


/* ---- aes*-ctr (RFC 4344 §4) with hmac-sha2-* (RFC 6668), encrypt-and-MAC or encrypt-then-MAC ---------- */

typedef struct {
  EVP_CIPHER_CTX *ctx; /* one keystream for the life of the keys: CTR is not reset per packet */
  EVP_MAC_CTX *mac;
  size_t mac_length;
  int encrypt_then_mac;
  int encrypt;
  uint8_t first_block[16]; /* encrypt-and-MAC: decrypted by ctrHmacLength to read packet_length */
} CtrHmac;

static void ctr_free(napi_env env, void *data, void *hint) {
  CtrHmac *state = data;
  EVP_CIPHER_CTX_free(state->ctx);
  EVP_MAC_CTX_free(state->mac);
  OPENSSL_cleanse(state, sizeof *state);
  free(state);
}

/* ctrHmac(key: Buffer(16, 24 or 32), iv: Buffer(16), macKey: Buffer, sha512, encryptThenMac, encrypt) → handle */
static napi_value ctr_new(napi_env env, napi_callback_info info) {
  ARGUMENTS(6);
  uint8_t *key, *iv, *mac_key;
  size_t key_length, iv_length, mac_key_length;
  bool sha512, encrypt_then_mac, encrypt;
  if (!get_bytes(env, argv[0], &key, &key_length) || (key_length != 16 && key_length != 24 && key_length != 32) ||
      !get_bytes(env, argv[1], &iv, &iv_length) || iv_length != 16 || !get_bytes(env, argv[2], &mac_key, &mac_key_length)) {
    return throw_error(env, "ctrHmac: a 16-, 24- or 32-byte key, a 16-byte IV and a MAC key");
  }
  CHECK(napi_get_value_bool(env, argv[3], &sha512));
  CHECK(napi_get_value_bool(env, argv[4], &encrypt_then_mac));
  CHECK(napi_get_value_bool(env, argv[5], &encrypt));
  EVP_CIPHER *cipher = ctr_ciphers[(key_length - 16) / 8];
  if (cipher == NULL || hmac_mac == NULL) return throw_error(env, "ctrHmac: OpenSSL lacks AES-CTR or HMAC");
  CtrHmac *state = calloc(1, sizeof *state);
  if (state == NULL) return throw_error(env, "ctrHmac: out of memory");
  state->mac_length = sha512 ? 64 : 32;
  state->encrypt_then_mac = encrypt_then_mac;
  state->encrypt = encrypt;
  state->ctx = EVP_CIPHER_CTX_new();
  state->mac = EVP_MAC_CTX_new(hmac_mac);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha512 ? "SHA512" : "SHA256", 0), OSSL_PARAM_construct_end()};
  if (state->ctx == NULL || state->mac == NULL || !EVP_CipherInit_ex2(state->ctx, cipher, key, iv, encrypt, NULL) ||
      !EVP_MAC_init(state->mac, mac_key, mac_key_length, params)) {
    ctr_free(env, state, NULL);
    return throw_error(env, "ctrHmac: OpenSSL could not set the keys");
  }
  return wrap_state(env, state, ctr_free);
}

static int ctr_crypt(CtrHmac *state, uint8_t *out, const uint8_t *in, size_t length) {
  int written = 0;
  return length == 0 || (length <= INT32_MAX && EVP_CipherUpdate(state->ctx, out, &written, in, (int)length) && (size_t)written == length);
}

/* RFC 4253 §6.4: mac = MAC(key, uint32 sequence_number || data); the key set at creation is reused. */
static int ctr_mac(CtrHmac *state, uint32_t sequence, const uint8_t *data, size_t length, uint8_t *mac) {
  uint8_t prefix[4] = {(uint8_t)(sequence >> 24), (uint8_t)(sequence >> 16), (uint8_t)(sequence >> 8), (uint8_t)sequence};
  size_t written = 0;
  return EVP_MAC_init(state->mac, NULL, 0, NULL) && EVP_MAC_update(state->mac, prefix, 4) && EVP_MAC_update(state->mac, data, length) &&
         EVP_MAC_final(state->mac, mac, &written, state->mac_length) && written == state->mac_length;
}

/* ctrHmacLength(handle, header: Buffer(16)) → packet_length; encrypt-and-MAC only (the length is encrypted). */
static napi_value ctr_length(napi_env env, napi_callback_info info) {
  ARGUMENTS(2);
  CtrHmac *state;
  uint8_t *header;
  size_t header_length;
  if (!get_handle(env, argv[0], (void **)&state) || state->encrypt || state->encrypt_then_mac ||
      !get_bytes(env, argv[1], &header, &header_length) || header_length < 16) {
    return throw_error(env, "ctrHmacLength: (encrypt-and-MAC opening handle, header of 16 bytes)");
  }
  /* Decrypting advances the keystream, so the block is kept for ctrHmacOpen rather than decrypted twice. */
  if (!ctr_crypt(state, state->first_block, header, 16)) return throw_error(env, "ctrHmacLength: OpenSSL failed");
  const uint8_t *clear = state->first_block;
  return packet_length_value(env, clear);
}

/* ctrHmacSeal(handle, sequence, packet, out): out.length = packet.length + the MAC's length. */
static napi_value ctr_seal(napi_env env, napi_callback_info info) {
  ARGUMENTS(4);
  CtrHmac *state;
  uint32_t sequence;
  uint8_t *packet, *out;
  size_t length, out_length;
  if (!get_handle(env, argv[0], (void **)&state) || !state->encrypt || !get_bytes(env, argv[2], &packet, &length) ||
      !get_bytes(env, argv[3], &out, &out_length) || length < 16 || out_length != length + state->mac_length) {
    return throw_error(env, "ctrHmacSeal: (sealing handle, sequence, packet, out of packet.length + MAC length)");
  }
  CHECK(napi_get_value_uint32(env, argv[1], &sequence));
  int ok;
  if (state->encrypt_then_mac) {
    /* OpenSSH PROTOCOL §1.5: the length in clear, the MAC over it and the ciphertext. */
    memcpy(out, packet, 4);
    ok = ctr_crypt(state, out + 4, packet + 4, length - 4) && ctr_mac(state, sequence, out, length, out + length);
  } else {
    ok = ctr_mac(state, sequence, packet, length, out + length) && ctr_crypt(state, out, packet, length);
  }
  if (!ok) return throw_error(env, "ctrHmacSeal: OpenSSL failed");
  return NULL;
}

/*
 * ctrHmacOpen(handle, sequence, packet) → whether the MAC is authentic; the packet (length field and all)
 * is then plaintext in place. Encrypt-then-MAC checks before decrypting; encrypt-and-MAC can only check the
 * plaintext, after ctrHmacLength decrypted its first block.
 */
static napi_value ctr_open(napi_env env, napi_callback_info info) {
  ARGUMENTS(3);
  CtrHmac *state;
  uint32_t sequence;
  uint8_t *packet;
  size_t length;
  if (!get_handle(env, argv[0], (void **)&state) || state->encrypt || !get_bytes(env, argv[2], &packet, &length) ||
      length < 16 + state->mac_length) {
    return throw_error(env, "ctrHmacOpen: (opening handle, sequence, packet)");
  }
  CHECK(napi_get_value_uint32(env, argv[1], &sequence));
  size_t end = length - state->mac_length;
  uint8_t mac[64];
  int ok;
  bool authentic = false;
  if (state->encrypt_then_mac) {
    ok = ctr_mac(state, sequence, packet, end, mac);
    authentic = ok && CRYPTO_memcmp(mac, packet + end, state->mac_length) == 0;
    if (authentic) ok = ctr_crypt(state, packet + 4, packet + 4, end - 4);
  } else {
    ok = ctr_crypt(state, packet + 16, packet + 16, end - 16);
    if (ok) {
      memcpy(packet, state->first_block, 16);
      ok = ctr_mac(state, sequence, packet, end, mac);
      authentic = ok && CRYPTO_memcmp(mac, packet + end, state->mac_length) == 0;
    }
  }
  OPENSSL_cleanse(state->first_block, sizeof state->first_block);
  if (!ok) return throw_error(env, "ctrHmacOpen: OpenSSL failed");
  return boolean_value(env, authentic);
}

/* ---- module --------------------------------------------------------------------------------------- */

static napi_value init(napi_env env, napi_value exports) {
  /* Fetched once: an implicit fetch on every context initialisation would cost a provider lookup each time. */
  chacha20_cipher = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
  gcm128_cipher = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
  gcm256_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  poly1305_mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_POLY1305, NULL);
  hmac_mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
  ctr_ciphers[0] = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
  ctr_ciphers[1] = EVP_CIPHER_fetch(NULL, "AES-192-CTR", NULL);
  ctr_ciphers[2] = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
  napi_property_descriptor functions[] = {
      ADDON_FUNCTION("chachaPoly", chacha_new),
      ADDON_FUNCTION("chachaPolyLength", chacha_length),
      ADDON_FUNCTION("chachaPolySeal", chacha_seal),
      ADDON_FUNCTION("chachaPolyOpen", chacha_open),
      ADDON_FUNCTION("gcm", gcm_new),
      ADDON_FUNCTION("gcmSeal", gcm_seal),
      ADDON_FUNCTION("gcmOpen", gcm_open),
      ADDON_FUNCTION("ctrHmac", ctr_new),
      ADDON_FUNCTION("ctrHmacLength", ctr_length),
      ADDON_FUNCTION("ctrHmacSeal", ctr_seal),
      ADDON_FUNCTION("ctrHmacOpen", ctr_open),
  };
  CHECK(DEFINE_FUNCTIONS(env, exports, functions));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
