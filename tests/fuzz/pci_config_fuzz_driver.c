/* Seeded-random driver for the pci_config_fuzz target (gcc build, no libFuzzer): random
 * operation sequences biased to the header and the MSI and MSI-X capabilities, and a check that
 * the inputs did move and refuse BARs and did enable, unmask, rewrite and fire MSI-X vectors (a
 * driver that never reached them would check nothing). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/pci_bus.h"
#include "fuzz/pci_config_fuzz.h"
#include "test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern struct pci_bus_counters pci_config_fuzz_total;

int main(int argc, char **argv)
{
	unsigned long iterations = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
	uint64_t state = 0x2545f4914f6cdd1dULL;
	uint8_t buf[6 * 64];

	for (unsigned long n = 0; n < iterations; n++) {
		size_t len = 6 * (1 + n % 64);

		for (size_t i = 0; i < len; i++) {
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			buf[i] = (uint8_t)(state >> 24);
			if (i % 6 == 2 && (state & 0x300))
				buf[i] = (uint8_t)(buf[i] % 0x60);	/* header, MSI at 0x40, MSI-X at 0x50 */
			if (i % 6 == 5) {	/* a quarter of the ops: MSI-X table, enable, vectors firing */
				uint8_t *op = buf + i - 5;
				unsigned r = (unsigned)(state >> 40) & 15;

				if (r < 3)
					op[0] = (uint8_t)(0xe8 | (op[0] & 7));	/* table or PBA access */
				else if (r == 3)
					op[0] = (uint8_t)(0xc8 | (op[0] & 7));	/* the device fires a vector */
				else if (r == 4) {	/* Message Control: enable, function mask at random */
					op[0] = 0x41;
					op[1] = 1;
					op[2] = 0x52;
					op[3] = (uint8_t)(0x80 | (op[3] & 0x40));
				}
			}
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("pci_config_fuzz: %lu random operation sequences, invariants held (%llu BAR moves carried out, "
	       "%llu refused, %llu config errors)\n", iterations, (unsigned long long)pci_config_fuzz_total.moves,
	       (unsigned long long)pci_config_fuzz_total.refused_moves,
	       (unsigned long long)pci_config_fuzz_total.config_errors);
	TEST_ASSERT(pci_config_fuzz_total.moves > iterations && pci_config_fuzz_total.refused_moves > 0,
		    "the inputs never moved a BAR");
	printf("pci_config_fuzz: MSI-X %llu enables, up to %u vectors live at once, %llu live entries rewritten, "
	       "%llu checks with a pending bit, %llu MSI-X errors counted\n",
	       (unsigned long long)pci_config_fuzz_msix.enables, pci_config_fuzz_msix.live_max,
	       (unsigned long long)pci_config_fuzz_msix.route_updates, (unsigned long long)pci_config_fuzz_msix.pending_seen,
	       (unsigned long long)pci_config_fuzz_msix.errors);
	TEST_ASSERT(pci_config_fuzz_msix.enables > 0 && pci_config_fuzz_msix.live_max > 1 &&
		    pci_config_fuzz_msix.route_updates > 0 && pci_config_fuzz_msix.pending_seen > 0,
		    "the inputs never reached live MSI-X vectors");
	return T_PASS;
}
