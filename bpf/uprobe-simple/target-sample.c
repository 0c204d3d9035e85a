/*
 * The program watched by uprobe_simple (seed 001, "ユーザアプリの監視").
 * The seed shows only its outline: func() returns its argument; main()
 * loops forever, incrementing a counter, calling func(counter), printing
 * "ret=%d" and sleeping one second; its documented run starts with
 * "pid = N". The lines below fill in that outline and nothing more.
 * noinline keeps func a real call at -O2 so the uprobe has a target.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) unsigned int func(unsigned int counter) {
        return counter;
}

int main(void) {
        unsigned int counter = 0;

        printf("pid = %d\n", getpid());
        while (1) {
                counter++;
                unsigned int ret = func(counter);
                printf("ret=%d\n", ret);
                sleep(1);
        }
        return 0;
}
