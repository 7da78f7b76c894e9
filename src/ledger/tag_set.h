// The canonical text of a tag set, the form the ledger stores in
// usage_records.tags and uses as the tag_set dimension of the hourly rollups:
// a JSON array of [key, value] pairs sorted by key (then value), with no
// whitespace, e.g. [["env","prod"],["team","growth"]]; [] for no tags. Strings
// are escaped as JSON requires (" and \ and control characters; other bytes,
// UTF-8 included, are copied as they are), so equal sets give equal bytes.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/tag.h"

namespace tollgate::ledger {

std::string canonical_tag_set(std::vector<Tag> tags);

// Appends `text` as a JSON string literal (quotes included) to `out`.
void append_json_string(std::string& out, std::string_view text);

// Parses a JSON array of [string, string] pairs (the canonical form, or any
// equivalent JSON) into `out`, in the order written. Returns false, leaving
// `out` unspecified, when the text is not such an array.
bool parse_tag_set(std::string_view text, std::vector<Tag>& out);

}  // namespace tollgate::ledger
