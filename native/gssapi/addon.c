/*
 * Tether's GSS-API addon: the RFC 2743 calls RFC 4462 gssapi-with-mic needs, over MIT's libgssapi_krb5,
 * which neither Node nor any npm package offers in full (none has gss_get_mic / gss_verify_mic).
 *
 * This file holds the calls that stay on the calling thread because they never contact the KDC: names,
 * credential acquisition (keytab or ccache reads), per-message integrity (RFC 2743 §2.3.1, §2.3.2), storing a
 * delegated credential into a ccache, and the mechanism list. The two calls that may reach the KDC are in
 * context_work.c; krb5 account mapping is in krb5_local.c. Built against Node-API, so one build serves every
 * Node version.
 */
#include "gssapi_addon.h"
#include <string.h>

/* Longest name or ccache path accepted from JavaScript. */
#define STRING_MAX 1024


/* importName(name: string, kind: "hostbased" | "user" | "principal"): Name
 * "hostbased" is GSS_C_NT_HOSTBASED_SERVICE ("host@server.example", RFC 2743 §4.1), as RFC 4462 §3.2 asks for
 * the target; "principal" is a Kerberos principal ("user@REALM"). */
static napi_value js_import_name(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char name[STRING_MAX], kind[16];
  gss_OID type;
  gss_name_t imported = GSS_C_NO_NAME;
  OM_uint32 major, minor;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_string(env, argv[0], name, sizeof name) || !get_string(env, argv[1], kind, sizeof kind)) {
    if (argc < 2) throw_type_error(env, "gssapi: importName(name, kind)");
    return NULL;
  }
  if (strcmp(kind, "hostbased") == 0) type = GSS_C_NT_HOSTBASED_SERVICE;
  else if (strcmp(kind, "user") == 0) type = GSS_C_NT_USER_NAME;
  else if (strcmp(kind, "principal") == 0) type = (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME;
  else {
    throw_type_error(env, "gssapi: kind must be \"hostbased\", \"user\" or \"principal\"");
    return NULL;
  }
  gss_buffer_desc buffer = { strlen(name), name };
  major = gss_import_name(&minor, &buffer, type, &imported);
  if (GSS_ERROR(major)) {
    throw_gss_error(env, "gss_import_name", major, minor);
    return NULL;
  }
  return wrap_name(env, imported);
}

/* displayName(name: Name): string */
static napi_value js_display_name(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  OM_uint32 major, minor;
  gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NameBox *box = argc >= 1 ? get_name(env, argv[0]) : NULL;
  if (box == NULL) {
    if (argc < 1) throw_type_error(env, "gssapi: displayName(name)");
    return NULL;
  }
  major = gss_display_name(&minor, box->name, &text, NULL);
  if (GSS_ERROR(major)) {
    throw_gss_error(env, "gss_display_name", major, minor);
    return NULL;
  }
  napi_status status = napi_create_string_utf8(env, text.value, text.length, &result);
  gss_release_buffer(&minor, &text);
  CHECK(status);
  return result;
}

/* acquireCredential(name: Name | null, usage: "accept" | "initiate"): Credential
 * The acceptor's from the keytab (KRB5_KTNAME), the initiator's from the ccache (KRB5CCNAME); both local. */
static napi_value js_acquire_credential(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char usage_text[16];
  napi_valuetype type;
  gss_name_t name = GSS_C_NO_NAME;
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
  OM_uint32 major, minor;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_string(env, argv[1], usage_text, sizeof usage_text)) {
    if (argc < 2) throw_type_error(env, "gssapi: acquireCredential(name, usage)");
    return NULL;
  }
  gss_cred_usage_t usage;
  if (strcmp(usage_text, "accept") == 0) usage = GSS_C_ACCEPT;
  else if (strcmp(usage_text, "initiate") == 0) usage = GSS_C_INITIATE;
  else {
    throw_type_error(env, "gssapi: usage must be \"accept\" or \"initiate\"");
    return NULL;
  }
  CHECK(napi_typeof(env, argv[0], &type));
  if (type != napi_null && type != napi_undefined) {
    NameBox *box = get_name(env, argv[0]);
    if (box == NULL) return NULL;
    name = box->name;
  }
  gss_OID_set_desc mechs = { 1, (gss_OID)gss_mech_krb5 };
  major = gss_acquire_cred(&minor, name, GSS_C_INDEFINITE, &mechs, usage, &cred, NULL, NULL);
  if (GSS_ERROR(major)) {
    throw_gss_error(env, "gss_acquire_cred", major, minor);
    return NULL;
  }
  return wrap_cred(env, cred);
}

/* getMic(context, message: Buffer): Buffer */
static napi_value js_get_mic(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  void *data;
  size_t length;
  OM_uint32 major, minor;
  gss_buffer_desc mic = GSS_C_EMPTY_BUFFER;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    throw_type_error(env, "gssapi: getMic(context, message)");
    return NULL;
  }
  ContextBox *box = get_context(env, argv[0]);
  if (box == NULL || !get_bytes(env, argv[1], &data, &length)) return NULL;
  if (box->busy) {
    napi_throw_error(env, "ERR_GSSAPI_BUSY", "gssapi: the security context is in use by a pending call");
    return NULL;
  }
  gss_buffer_desc message = { length, data };
  major = gss_get_mic(&minor, box->ctx, GSS_C_QOP_DEFAULT, &message, &mic);
  if (GSS_ERROR(major)) {
    throw_gss_error(env, "gss_get_mic", major, minor);
    return NULL;
  }
  result = copy_to_buffer(env, &mic);
  gss_release_buffer(&minor, &mic);
  return result;
}

/* verifyMic(context, message: Buffer, mic: Buffer): undefined, or throws (GSS_S_BAD_SIG …). */
static napi_value js_verify_mic(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void *data, *mic_data;
  size_t length, mic_length;
  OM_uint32 major, minor;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    throw_type_error(env, "gssapi: verifyMic(context, message, mic)");
    return NULL;
  }
  ContextBox *box = get_context(env, argv[0]);
  if (box == NULL || !get_bytes(env, argv[1], &data, &length) || !get_bytes(env, argv[2], &mic_data, &mic_length)) return NULL;
  if (box->busy) {
    napi_throw_error(env, "ERR_GSSAPI_BUSY", "gssapi: the security context is in use by a pending call");
    return NULL;
  }
  gss_buffer_desc message = { length, data };
  gss_buffer_desc mic = { mic_length, mic_data };
  major = gss_verify_mic(&minor, box->ctx, &message, &mic, NULL);
  /* Supplementary bits (duplicate or old token) count as failures: the MIC is checked once, on a fresh context. */
  if (major != GSS_S_COMPLETE) {
    throw_gss_error(env, "gss_verify_mic", major, minor);
    return NULL;
  }
  return NULL;
}

/* storeCredential(credential, ccache: string): writes a delegated credential into a ccache such as
 * "FILE:/tmp/krb5cc_1000_abc" (gss_store_cred_into, MIT's credential-store extension). */
static napi_value js_store_credential(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char ccache[STRING_MAX];
  OM_uint32 major, minor;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    throw_type_error(env, "gssapi: storeCredential(credential, ccache)");
    return NULL;
  }
  CredBox *box = get_cred(env, argv[0]);
  if (box == NULL || !get_string(env, argv[1], ccache, sizeof ccache)) return NULL;
  gss_key_value_element_desc element = { "ccache", ccache };
  gss_key_value_set_desc store = { 1, &element };
  major = gss_store_cred_into(&minor, box->cred, GSS_C_INITIATE, (gss_OID)gss_mech_krb5, 1, 0, &store, NULL, NULL);
  if (GSS_ERROR(major)) {
    throw_gss_error(env, "gss_store_cred_into", major, minor);
    return NULL;
  }
  return NULL;
}

/* indicateMechs(): Buffer[] — each mechanism OID's content octets (no DER tag or length). */
static napi_value js_indicate_mechs(napi_env env, napi_callback_info info) {
  napi_value result;
  gss_OID_set mechs = GSS_C_NO_OID_SET;
  OM_uint32 major, minor;
  major = gss_indicate_mechs(&minor, &mechs);
  if (GSS_ERROR(major)) {
    throw_gss_error(env, "gss_indicate_mechs", major, minor);
    return NULL;
  }
  if (napi_create_array_with_length(env, mechs->count, &result) != napi_ok) {
    gss_release_oid_set(&minor, &mechs);
    throw_napi_failure(env, "napi_create_array_with_length");
    return NULL;
  }
  for (size_t i = 0; i < mechs->count; i++) {
    gss_buffer_desc bytes = { mechs->elements[i].length, mechs->elements[i].elements };
    napi_value oid = copy_to_buffer(env, &bytes);
    if (oid == NULL) break;
    napi_set_element(env, result, (uint32_t)i, oid);
  }
  gss_release_oid_set(&minor, &mechs);
  return result;
}

static void define_flag(napi_env env, napi_value flags, const char *name, uint32_t value) {
  napi_value number;
  if (napi_create_uint32(env, value, &number) == napi_ok) napi_set_named_property(env, flags, name, number);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value flags;
  napi_property_descriptor properties[] = {
    ADDON_FUNCTION("importName", js_import_name),
    ADDON_FUNCTION("displayName", js_display_name),
    ADDON_FUNCTION("releaseName", js_release_name),
    ADDON_FUNCTION("acquireCredential", js_acquire_credential),
    ADDON_FUNCTION("releaseCredential", js_release_credential),
    ADDON_FUNCTION("storeCredential", js_store_credential),
    ADDON_FUNCTION("createContext", js_create_context),
    ADDON_FUNCTION("deleteContext", js_delete_context),
    ADDON_FUNCTION("initSecContext", js_init_sec_context),
    ADDON_FUNCTION("acceptSecContext", js_accept_sec_context),
    ADDON_FUNCTION("getMic", js_get_mic),
    ADDON_FUNCTION("verifyMic", js_verify_mic),
    ADDON_FUNCTION("indicateMechs", js_indicate_mechs),
    ADDON_FUNCTION("kuserok", js_kuserok),
    ADDON_FUNCTION("localName", js_local_name),
  };
  CHECK(DEFINE_FUNCTIONS(env, exports, properties));
  /* RFC 2744 §3.10 context flags. */
  CHECK(napi_create_object(env, &flags));
  define_flag(env, flags, "DELEG", GSS_C_DELEG_FLAG);
  define_flag(env, flags, "MUTUAL", GSS_C_MUTUAL_FLAG);
  define_flag(env, flags, "REPLAY", GSS_C_REPLAY_FLAG);
  define_flag(env, flags, "SEQUENCE", GSS_C_SEQUENCE_FLAG);
  define_flag(env, flags, "CONF", GSS_C_CONF_FLAG);
  define_flag(env, flags, "INTEG", GSS_C_INTEG_FLAG);
  CHECK(napi_set_named_property(env, exports, "flags", flags));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
