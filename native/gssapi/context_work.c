/*
 * gss_init_sec_context and gss_accept_sec_context (RFC 2743 §2.2.1, §2.2.2) on libuv's thread pool.
 *
 * Both may contact the KDC (a TGS request for the service ticket, or a replay-cache and keytab read on the
 * acceptor side), which can take seconds; run on the event loop they would stall every other connection.
 * Each call returns a promise. The context object, and any credential used, are pinned by references while
 * the call runs, and the context is marked busy so that no second call (nor a delete) can touch it.
 */
#include "gssapi_addon.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int accepting;
  /* Inputs. */
  napi_ref context_ref;
  ContextBox *context;
  napi_ref cred_ref;
  CredBox *cred;
  gss_name_t target; /* a duplicate, owned by this call (initiator only) */
  OM_uint32 req_flags;
  gss_buffer_desc input; /* a copy, owned by this call */
  /* Outputs. */
  OM_uint32 major;
  OM_uint32 ret_flags;
  gss_buffer_desc output;
  gss_name_t source;
  gss_buffer_desc source_text;
  gss_cred_id_t delegated;
  GssStatus status;
} TokenCall;

static void free_call(TokenCall *call) {
  OM_uint32 minor;
  if (call->target != GSS_C_NO_NAME) gss_release_name(&minor, &call->target);
  if (call->source != GSS_C_NO_NAME) gss_release_name(&minor, &call->source);
  if (call->output.length > 0 || call->output.value != NULL) gss_release_buffer(&minor, &call->output);
  if (call->source_text.value != NULL) gss_release_buffer(&minor, &call->source_text);
  if (call->delegated != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &call->delegated);
  free(call->input.value);
  free(call);
}

static void execute(napi_env env, void *data) {
  TokenCall *call = data;
  OM_uint32 minor = 0;
  gss_buffer_t input = call->input.length > 0 ? &call->input : GSS_C_NO_BUFFER;
  gss_cred_id_t cred = call->cred != NULL ? call->cred->cred : GSS_C_NO_CREDENTIAL;
  if (call->accepting) {
    call->major = gss_accept_sec_context(&minor, &call->context->ctx, cred, &call->input, GSS_C_NO_CHANNEL_BINDINGS,
                                         &call->source, NULL, &call->output, &call->ret_flags, NULL, &call->delegated);
    if (call->major == GSS_S_COMPLETE && call->source != GSS_C_NO_NAME) {
      OM_uint32 display_minor;
      if (GSS_ERROR(gss_display_name(&display_minor, call->source, &call->source_text, NULL))) {
        call->source_text.value = NULL;
        call->source_text.length = 0;
      }
    }
  } else {
    call->major = gss_init_sec_context(&minor, cred, &call->context->ctx, call->target, (gss_OID)gss_mech_krb5,
                                       call->req_flags, 0, GSS_C_NO_CHANNEL_BINDINGS, input, NULL, &call->output,
                                       &call->ret_flags, NULL);
  }
  /* Rendered here: MIT keeps the detailed minor message ("No Kerberos credentials available (default cache:
   * …)") per thread. */
  if (GSS_ERROR(call->major)) render_status(&call->status, call->major, minor);
}

static void set_value(napi_env env, napi_value object, const char *key, napi_value value) {
  if (value != NULL) napi_set_named_property(env, object, key, value);
}

static napi_value build_result(napi_env env, TokenCall *call) {
  napi_value result, value;
  if (napi_create_object(env, &result) != napi_ok) return NULL;
  if (call->output.length > 0) set_value(env, result, "token", copy_to_buffer(env, &call->output));
  else if (napi_get_null(env, &value) == napi_ok) set_value(env, result, "token", value);
  if (napi_get_boolean(env, call->major == GSS_S_COMPLETE, &value) == napi_ok) set_value(env, result, "complete", value);
  if (napi_create_uint32(env, call->ret_flags, &value) == napi_ok) set_value(env, result, "flags", value);
  if (call->accepting && call->major == GSS_S_COMPLETE) {
    if (call->source_text.value != NULL &&
        napi_create_string_utf8(env, call->source_text.value, call->source_text.length, &value) == napi_ok)
      set_value(env, result, "sourceName", value);
    if (call->delegated != GSS_C_NO_CREDENTIAL) {
      /* wrap_cred takes ownership (and releases it on failure). */
      gss_cred_id_t delegated = call->delegated;
      call->delegated = GSS_C_NO_CREDENTIAL;
      set_value(env, result, "delegatedCredential", wrap_cred(env, delegated));
    }
  }
  return result;
}

static void complete(napi_env env, napi_status status, void *data) {
  TokenCall *call = data;
  napi_value outcome = NULL;
  call->context->busy = 0;
  if (call->cred != NULL) call->cred->users--;
  if (status != napi_ok) {
    napi_value message;
    napi_create_string_utf8(env, "gssapi: the call was cancelled", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &outcome);
    napi_reject_deferred(env, call->deferred, outcome);
  } else if (GSS_ERROR(call->major)) {
    /* A failed call may still produce a token for the peer (RFC 4462 §3.9 SSH_MSG_USERAUTH_GSSAPI_ERRTOK). */
    outcome = make_gss_error(env, call->accepting ? "gss_accept_sec_context" : "gss_init_sec_context", &call->status,
                             &call->output);
    napi_reject_deferred(env, call->deferred, outcome);
  } else {
    outcome = build_result(env, call);
    if (outcome == NULL) {
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_reject_deferred(env, call->deferred, exception);
    } else {
      napi_resolve_deferred(env, call->deferred, outcome);
    }
  }
  napi_delete_reference(env, call->context_ref);
  if (call->cred_ref != NULL) napi_delete_reference(env, call->cred_ref);
  napi_delete_async_work(env, call->work);
  free_call(call);
}

/* Validates the shared arguments, pins them and queues the call; returns the promise. */
static napi_value queue_call(napi_env env, TokenCall *call, napi_value context_value, napi_value token_value,
                             napi_value cred_value) {
  napi_value promise, name;
  napi_valuetype type;
  void *bytes;
  size_t length = 0;
  call->context = get_context(env, context_value);
  if (call->context == NULL) goto fail;
  if (call->context->busy) {
    napi_throw_error(env, "ERR_GSSAPI_BUSY", "gssapi: the security context is in use by a pending call");
    goto fail;
  }
  if (napi_typeof(env, token_value, &type) != napi_ok) goto fail;
  if (type != napi_null && type != napi_undefined) {
    if (!get_bytes(env, token_value, &bytes, &length)) goto fail;
    if (length > 0) {
      call->input.value = malloc(length);
      if (call->input.value == NULL) {
        napi_throw_error(env, NULL, "gssapi: out of memory");
        goto fail;
      }
      memcpy(call->input.value, bytes, length);
      call->input.length = length;
    }
  }
  if (cred_value != NULL && napi_typeof(env, cred_value, &type) == napi_ok && type != napi_null && type != napi_undefined) {
    call->cred = get_cred(env, cred_value);
    if (call->cred == NULL) goto fail;
  }
  if (napi_create_string_utf8(env, call->accepting ? "gss_accept_sec_context" : "gss_init_sec_context", NAPI_AUTO_LENGTH,
                              &name) != napi_ok ||
      napi_create_promise(env, &call->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, call, &call->work) != napi_ok) {
    throw_napi_failure(env, "napi_create_async_work");
    goto fail;
  }
  napi_create_reference(env, context_value, 1, &call->context_ref);
  if (call->cred != NULL) {
    napi_create_reference(env, cred_value, 1, &call->cred_ref);
    call->cred->users++;
  }
  call->context->busy = 1;
  if (napi_queue_async_work(env, call->work) != napi_ok) {
    call->context->busy = 0;
    if (call->cred != NULL) call->cred->users--;
    throw_napi_failure(env, "napi_queue_async_work");
    return NULL; /* the work and call are leaked rather than freed under a live promise */
  }
  return promise;
fail:
  free_call(call);
  return NULL;
}

/* initSecContext(context, target: Name, inputToken: Buffer | null, flags: number, credential?: Credential | null) */
napi_value js_init_sec_context(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5] = { NULL, NULL, NULL, NULL, NULL };
  OM_uint32 minor;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    throw_type_error(env, "gssapi: initSecContext(context, target, token, flags[, credential])");
    return NULL;
  }
  TokenCall *call = calloc(1, sizeof *call);
  if (call == NULL) {
    napi_throw_error(env, NULL, "gssapi: out of memory");
    return NULL;
  }
  NameBox *target = get_name(env, argv[1]);
  if (target == NULL || napi_get_value_uint32(env, argv[3], &call->req_flags) != napi_ok) {
    if (target != NULL) throw_type_error(env, "gssapi: flags must be a number");
    free_call(call);
    return NULL;
  }
  /* A private copy, so the caller may release its name while the call runs. */
  OM_uint32 major = gss_duplicate_name(&minor, target->name, &call->target);
  if (GSS_ERROR(major)) {
    free_call(call);
    throw_gss_error(env, "gss_duplicate_name", major, minor);
    return NULL;
  }
  return queue_call(env, call, argv[0], argv[2], argc >= 5 ? argv[4] : NULL);
}

/* acceptSecContext(context, inputToken: Buffer, acceptorCredential?: Credential | null) */
napi_value js_accept_sec_context(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = { NULL, NULL, NULL };
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    throw_type_error(env, "gssapi: acceptSecContext(context, token[, credential])");
    return NULL;
  }
  TokenCall *call = calloc(1, sizeof *call);
  if (call == NULL) {
    napi_throw_error(env, NULL, "gssapi: out of memory");
    return NULL;
  }
  call->accepting = 1;
  return queue_call(env, call, argv[0], argv[1], argc >= 3 ? argv[2] : NULL);
}
