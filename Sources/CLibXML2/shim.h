// libxml2 (Debian: libxml2-dev, pkg-config libxml-2.0): the streaming writer for the documents the gateway
// writes, the streaming reader for the documents it takes in, and the schema validator.
#include <libxml/xmlversion.h>
// Debian builds libxml2 with ICU, and its encoding header then includes the system's ICU headers, whose
// UErrorCode clashes with the newer ICU bundled in Swift 6.3.0/6.3.1's Foundation (swiftlang/swift#88485,
// fixed in 6.3.2). Nothing here touches the ICU members at the end of xmlCharEncodingHandler (it is only
// ever handled by pointer), so the gateway's view of libxml2 leaves ICU out.
#undef LIBXML_ICU_ENABLED
#include <libxml/xmlwriter.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlschemas.h>
#include <libxml/parser.h>
