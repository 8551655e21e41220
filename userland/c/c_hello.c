/* The smallest C program: printf through musl, arguments, exit status. */
#include <stdio.h>

int main(int argc, char *argv[])
{
	printf("hello from C:");
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	return 0;
}
