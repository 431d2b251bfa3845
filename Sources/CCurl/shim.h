// libcurl for the SMTP transport. curl_easy_setopt and curl_easy_getinfo are variadic, which Swift
// cannot call, so each option type gets a typed wrapper.
#ifndef TAKEDOWN_CCURL_SHIM_H
#define TAKEDOWN_CCURL_SHIM_H
#include <curl/curl.h>

typedef size_t (*takedown_read_callback)(char *buffer, size_t size, size_t count, void *context);

static inline CURLcode takedown_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode takedown_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode takedown_setopt_list(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode takedown_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode takedown_setopt_read(CURL *handle, takedown_read_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, callback);
}
static inline size_t takedown_discard(char *data, size_t size, size_t count, void *context) {
    (void)data;
    (void)context;
    return size * count;
}
/// Drops what the server answers (the reply to a probe's NOOP), which libcurl would print on stdout.
static inline CURLcode takedown_setopt_discard_output(CURL *handle) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, takedown_discard);
}
static inline CURLcode takedown_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
#endif
