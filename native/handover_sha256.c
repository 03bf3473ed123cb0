/* SHA-256 over many messages in one call, with OpenSSL's implementation.
 *
 * hashlib costs about 0.6 microseconds a call on top of the hashing itself (a new hash object,
 * a digest object); checking a log of a million events makes two million calls. These
 * functions make the same OpenSSL calls in a loop in C and return the digests as a list of
 * bytes. Nothing here is cryptography of its own: every digest is OpenSSL's SHA-256. The
 * callers keep a pure-Python path and the tests hold the two to the same answers. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <openssl/evp.h>

#define DIGEST_SIZE 32

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
static EVP_MD *sha256;
#define DIGEST_INIT(ctx) EVP_DigestInit_ex2((ctx), sha256, NULL)
#else
static const EVP_MD *sha256;
#define DIGEST_INIT(ctx) EVP_DigestInit_ex((ctx), sha256, NULL)
#endif

/* The bytes of a message: a bytes object as it is, a str as UTF-8 (an error for a str that
 * has none, as str.encode() gives). */
static int
message(PyObject *item, const char **data, Py_ssize_t *size)
{
    if (PyBytes_Check(item)) {
        *data = PyBytes_AS_STRING(item);
        *size = PyBytes_GET_SIZE(item);
        return 0;
    }
    if (PyUnicode_Check(item)) {
        *data = PyUnicode_AsUTF8AndSize(item, size);
        return *data == NULL ? -1 : 0;
    }
    PyErr_Format(PyExc_TypeError, "a message is bytes or str, not %.100s",
                 Py_TYPE(item)->tp_name);
    return -1;
}

static int
openssl_failed(void)
{
    PyErr_SetString(PyExc_RuntimeError, "OpenSSL's SHA-256 failed");
    return -1;
}

/* SHA-256(prefix || parts[0] || ... || parts[count - 1]) into a new bytes object, or a str of
 * its 64 lowercase hex digits (as bytes.hex() gives them). */
static PyObject *
digest(EVP_MD_CTX *ctx, const Py_buffer *prefix, const char **parts, const Py_ssize_t *sizes,
       int count, int hex)
{
    if (!DIGEST_INIT(ctx)
        || (prefix->len && !EVP_DigestUpdate(ctx, prefix->buf, (size_t)prefix->len))) {
        openssl_failed();
        return NULL;
    }
    for (int i = 0; i < count; i++) {
        if (!EVP_DigestUpdate(ctx, parts[i], (size_t)sizes[i])) {
            openssl_failed();
            return NULL;
        }
    }
    unsigned char raw[DIGEST_SIZE];
    if (!EVP_DigestFinal_ex(ctx, raw, NULL)) {
        openssl_failed();
        return NULL;
    }
    if (!hex) {
        return PyBytes_FromStringAndSize((const char *)raw, DIGEST_SIZE);
    }
    static const char digits[] = "0123456789abcdef";
    PyObject *out = PyUnicode_New(2 * DIGEST_SIZE, 127);
    if (out == NULL) {
        return NULL;
    }
    Py_UCS1 *text = PyUnicode_1BYTE_DATA(out);
    for (int i = 0; i < DIGEST_SIZE; i++) {
        text[2 * i] = digits[raw[i] >> 4];
        text[2 * i + 1] = digits[raw[i] & 15];
    }
    return out;
}

/* The shared part of each() and pairs(): `width` messages per digest. */
static PyObject *
digests(PyObject *args, PyObject *kwargs, int width)
{
    static char *keywords[] = {"messages", "prefix", "hex", NULL};
    PyObject *messages;
    Py_buffer prefix = {0}; /* stays empty when no prefix is given */
    int hex = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|y*$p", keywords, &messages, &prefix,
                                     &hex)) {
        return NULL;
    }
    PyObject *result = NULL;
    EVP_MD_CTX *ctx = NULL;
    /* A list or tuple as it is, anything else iterable copied into a list. Nothing below
     * runs Python code, so the items stay where they are until the loop ends. */
    PyObject *items = PySequence_Fast(messages, "messages must be iterable");
    if (items == NULL) {
        goto done;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(items) / width;
    PyObject **item = PySequence_Fast_ITEMS(items);
    result = PyList_New(count);
    if (result == NULL) {
        goto done;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    const char *parts[2];
    Py_ssize_t sizes[2];
    for (Py_ssize_t n = 0; n < count; n++) {
        for (int i = 0; i < width; i++) {
            if (message(item[n * width + i], &parts[i], &sizes[i]) < 0) {
                goto fail;
            }
        }
        PyObject *out = digest(ctx, &prefix, parts, sizes, width, hex);
        if (out == NULL) {
            goto fail;
        }
        PyList_SET_ITEM(result, n, out);
    }
    goto done;
fail:
    Py_CLEAR(result);
done:
    EVP_MD_CTX_free(ctx);
    Py_XDECREF(items);
    PyBuffer_Release(&prefix);
    return result;
}

static PyObject *
each(PyObject *module, PyObject *args, PyObject *kwargs)
{
    return digests(args, kwargs, 1);
}

static PyObject *
pairs(PyObject *module, PyObject *args, PyObject *kwargs)
{
    return digests(args, kwargs, 2);
}

PyDoc_STRVAR(each_doc,
"each(messages, prefix=b'', *, hex=False) -> list[bytes] | list[str]\n\n"
"SHA-256(prefix || message) of each message, in order. A message is bytes, or str (hashed\n"
"as UTF-8; UnicodeEncodeError for one that has none). With hex=True each digest is its 64\n"
"lowercase hex digits, as bytes.hex() gives them.");

PyDoc_STRVAR(pairs_doc,
"pairs(messages, prefix=b'', *, hex=False) -> list[bytes] | list[str]\n\n"
"SHA-256(prefix || messages[2i] || messages[2i + 1]) for each pair, in order; an odd last\n"
"message is left out.");

static PyMethodDef methods[] = {
    {"each", (PyCFunction)(void (*)(void))each, METH_VARARGS | METH_KEYWORDS, each_doc},
    {"pairs", (PyCFunction)(void (*)(void))pairs, METH_VARARGS | METH_KEYWORDS, pairs_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "handover_sha256",
    .m_doc = "SHA-256 of many messages in one call (OpenSSL's SHA-256, looped in C).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit_handover_sha256(void)
{
    if (sha256 == NULL) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
#else
        sha256 = EVP_sha256();
#endif
        if (sha256 == NULL) {
            PyErr_SetString(PyExc_ImportError, "OpenSSL offers no SHA-256");
            return NULL;
        }
    }
    return PyModule_Create(&module);
}
