#!/usr/bin/env bash
# Exports further FpML → CDM pairs from a clone of finos/common-domain-model (branch 6.x.x, the
# CDM 6 legacy layout the shared pairs use) for `fpml_to_cdm_on_further_pairs_of_the_cdm_project`:
# the FpML 5.13 confirmations of the product families the mapper covers, minus the 32 shared
# pairs, laid out like ../shared/data/cdm/fpml-cdm/.
#
#   git clone https://github.com/finos/common-domain-model cdm
#   connectors/tests/fpml-more.sh cdm /tmp/fpml-more
#   DESKMATE_FPML_MORE=/tmp/fpml-more cargo test -p connectors --test it fpml_cdm::further -- --nocapture
set -euo pipefail
clone=${1:?usage: fpml-more.sh CDM_CLONE OUT_DIR}
out=${2:?usage: fpml-more.sh CDM_CLONE OUT_DIR}
shared=$(cd "$(dirname "$0")/../../../shared/data/cdm/fpml-cdm" && pwd)
branch=6.x.x
base=rosetta-source/src/main/resources/ingest
n=0
for cat in products-bond-options products-commodity-derivatives products-credit-derivatives \
  products-equity-options products-equity-swaps products-fx-derivatives \
  products-interest-rate-derivatives incomplete-products-equity-options; do
  d=fpml-5-13-$cat
  for f in $(git -C "$clone" ls-tree --name-only "$branch" "$base/output/fpml-confirmation-to-trade-state/$d/"); do
    stem=$(basename "$f" .json)
    [ -e "$shared/$d/$stem.fpml.xml" ] && continue
    mkdir -p "$out/$d"
    if git -C "$clone" show "$branch:$base/input/$d/$stem.xml" >"$out/$d/$stem.fpml.xml" 2>/dev/null; then
      git -C "$clone" show "$branch:$f" >"$out/$d/$stem.cdm6-legacy.json"
      n=$((n + 1))
    else
      rm -f "$out/$d/$stem.fpml.xml"
    fi
  done
done
echo "$n pairs in $out"
