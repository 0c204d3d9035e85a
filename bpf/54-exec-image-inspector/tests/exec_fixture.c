// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>

int main(void)
{
	puts("exec fixture completed");
	return 0;
}
