// OpenRosa (ODK) submissions: the XForm instance a field app posts, read into a row of the
// observation schema so that it is parsed and validated as every other channel's rows are.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "truce/core/validate.h"
#include "truce/io/tabular.h"

namespace truce::io {

// The id of the XForm truce serves for an observation report (the instance root's id attribute).
inline constexpr std::string_view kFormId = "truce_observation";

// What a submission says besides its observation row.
struct XformMeta {
  std::string instance_id;    // meta/instanceID, also the row's observation_id
  std::string deprecated_id;  // meta/deprecatedID: the submission an edited one replaces; "" if none
};

// Reads one submission instance (the xml_submission_file part) into `row`, whose views point into
// `storage` (which must outlive it). Fails, naming the field, on XML that is not well-formed, a
// submission of another form, or a geopoint that is not "lat lon [altitude [accuracy]]". Values
// are not checked here: parse_observation does that. Entities and DTDs are not expanded; the
// caller bounds the size (the request limit).
std::optional<FieldError> parse_xform_submission(std::string_view xml, Row& row,
                                                 std::vector<std::string>& storage, XformMeta& meta);

}  // namespace truce::io
