/* BLACS grids from an MPI communicator (see blacs_grid.h). */
#include "dist/blacs_grid.h"

#include <string.h>

#include "base/assert.h"

void t2_blacs_grid_shape(int size, int *nprow, int *npcol) {
    T2_ASSERT(size >= 1);
    int cols = 1;
    for (int c = 1; c * c <= size; c++)
        if (size % c == 0) cols = c;
    *npcol = cols;
    *nprow = size / cols;
}

static void make_grid(t2_process_grid *out, int handle, int nprow, int npcol) {
    int context = handle; /* Cblacs_gridinit replaces the handle by the new context */
    Cblacs_gridinit(&context, "Row", nprow, npcol);
    t2_process_grid_query(out, context);
}

void t2_blacs_grid_init(t2_blacs_grid *g, MPI_Comm comm) {
    memset(g, 0, sizeof *g);
    int me = 0, world = 0;
    Cblacs_pinfo(&me, &world); /* sets BLACS up over the already running MPI */
    MPI_Comm_size(comm, &g->size);
    g->system_handle = Csys2blacs_handle(comm);
    int nprow, npcol;
    t2_blacs_grid_shape(g->size, &nprow, &npcol);
    make_grid(&g->grid, g->system_handle, nprow, npcol);
    make_grid(&g->row_strip, g->system_handle, g->size, 1);
    make_grid(&g->col_strip, g->system_handle, 1, g->size);
}

void t2_blacs_grid_free(t2_blacs_grid *g) {
    if (g->size > 0) {
        Cblacs_gridexit(g->grid.context);
        Cblacs_gridexit(g->row_strip.context);
        Cblacs_gridexit(g->col_strip.context);
        Cfree_blacs_system_handle(g->system_handle);
    }
    memset(g, 0, sizeof *g);
    g->system_handle = -1;
}
