// The symbolizer the shipper of each command uses (ShipOptions::symbolizer): libdw's, in this program only.
#include "commands.hpp"
#include "stack/snapshot_join.hpp"

namespace bstest::cli {

const detail::stack::Symbolizer* stack_symbolizer() {
  static const detail::stack::Symbolizer kSymbolizer{&detail::stack::symbolize_snapshot, &detail::stack::capture_live};
  return &kSymbolizer;
}

}  // namespace bstest::cli
