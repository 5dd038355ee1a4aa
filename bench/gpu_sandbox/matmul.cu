// EarthBench GPU sandbox check: a participant-like workload (issue 24).
//
// Reads every /input/test/<id>.f32 (an n x n float32 matrix, n from the file
// size), computes C = A * A on the GPU, and writes /output/predictions.csv with
// id,label where label = argmax_i(sum_j C[i][j]) % 10 (the platform scores it
// as a classification). Prints what it sees to stderr as "@key=value" lines:
// the visible devices and their UUIDs, /dev/nvidia* nodes, uid, capabilities,
// no_new_privs, network interfaces, whether / is writable.
// EB_MODE=oom allocates until the GPU refuses (exit 3); EB_MODE=spin runs a
// kernel that never ends (the platform must kill it at the deadline);
// EB_HOLD_MB (default 512) is held on the GPU for the run (NVML sees it).
#include <cuda_runtime.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

__global__ void matmul(const float *a, const float *b, float *c, int n) {
  int i = blockIdx.y * blockDim.y + threadIdx.y, j = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n || j >= n) return;
  float s = 0.f;
  for (int k = 0; k < n; ++k) s += a[i * n + k] * b[k * n + j];
  c[i * n + j] = s;
}

__global__ void spin(volatile int *flag) {
  while (*flag == 0) { }
}

static void facts(void) {
  DIR *d = opendir("/dev");
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (!strncmp(e->d_name, "nvidia", 6)) fprintf(stderr, "@dev=/dev/%s\n", e->d_name);
  if (d) closedir(d);
  fprintf(stderr, "@uid=%d:%d\n", (int)getuid(), (int)getgid());
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "CapEff:", 7) || !strncmp(line, "NoNewPrivs:", 11)) fprintf(stderr, "@%s", line);
  if (f) fclose(f);
  d = opendir("/sys/class/net");
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.') fprintf(stderr, "@iface=%s\n", e->d_name);
  if (d) closedir(d);
  fprintf(stderr, "@root_writable=%d\n", fopen("/probe", "w") != NULL);
}

int main(void) {
  const char *mode = getenv("EB_MODE") ? getenv("EB_MODE") : "run";
  facts();
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  fprintf(stderr, "@devices=%d\n", err == cudaSuccess ? count : 0);
  if (err != cudaSuccess || count == 0) {
    fprintf(stderr, "no CUDA device visible: %s\n", cudaGetErrorString(err));
    return 4;
  }
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp p;
    cudaGetDeviceProperties(&p, d);
    const unsigned char *u = (const unsigned char *)p.uuid.bytes;
    fprintf(stderr,
            "@uuid=GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\n",
            u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
            u[13], u[14], u[15]);
    fprintf(stderr, "@name=%s\n", p.name);
  }
  if (!strcmp(mode, "oom")) {
    size_t gib = 0;
    void *p;
    while (cudaMalloc(&p, (size_t)4 << 30) == cudaSuccess) gib += 4;
    fprintf(stderr, "out of GPU memory after %zu GiB\n", gib);
    return 3;
  }
  if (!strcmp(mode, "spin")) {
    int *flag;
    cudaMalloc(&flag, sizeof(int));
    cudaMemset(flag, 0, sizeof(int));
    spin<<<1, 1>>>(flag);
    cudaDeviceSynchronize();  // never returns: the platform's deadline ends it
    return 5;
  }
  size_t hold_mb = getenv("EB_HOLD_MB") ? strtoul(getenv("EB_HOLD_MB"), 0, 10) : 512;
  void *hold = 0;
  if (cudaMalloc(&hold, hold_mb << 20) != cudaSuccess || cudaMemset(hold, 1, hold_mb << 20)) {
    fprintf(stderr, "could not hold %zu MiB\n", hold_mb);
    return 6;
  }
  FILE *out = fopen("/output/predictions.csv", "w");
  if (!out) { perror("/output/predictions.csv"); return 7; }
  fprintf(out, "id,label\n");
  DIR *d = opendir("/input/test");
  struct dirent *e;
  int done = 0;
  while (d && (e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 4, ".f32")) continue;
    char path[512];
    snprintf(path, sizeof path, "/input/test/%s", e->d_name);
    struct stat st;
    if (stat(path, &st)) continue;
    int n = 1;
    while ((size_t)(n + 1) * (n + 1) * 4 <= (size_t)st.st_size) ++n;
    size_t bytes = (size_t)n * n * 4;
    float *a = (float *)malloc(bytes), *c = (float *)malloc(bytes), *da, *dc;
    FILE *f = fopen(path, "rb");
    if (!f || fread(a, 1, bytes, f) != bytes) { fprintf(stderr, "bad input %s\n", path); return 8; }
    fclose(f);
    cudaMalloc(&da, bytes);
    cudaMalloc(&dc, bytes);
    cudaMemcpy(da, a, bytes, cudaMemcpyHostToDevice);
    dim3 block(16, 16), grid((n + 15) / 16, (n + 15) / 16);
    matmul<<<grid, block>>>(da, da, dc, n);
    err = cudaMemcpy(c, dc, bytes, cudaMemcpyDeviceToHost);
    if (err != cudaSuccess) { fprintf(stderr, "CUDA: %s\n", cudaGetErrorString(err)); return 9; }
    int best = 0;
    double best_sum = -1e300;
    for (int i = 0; i < n; ++i) {
      double s = 0;
      for (int j = 0; j < n; ++j) s += c[i * n + j];
      if (s > best_sum) { best_sum = s; best = i; }
    }
    e->d_name[len - 4] = 0;
    fprintf(out, "%s,%d\n", e->d_name, best % 10);
    cudaFree(da);
    cudaFree(dc);
    free(a);
    free(c);
    ++done;
  }
  fclose(out);
  fprintf(stderr, "@samples=%d\n", done);
  cudaFree(hold);
  return done > 0 ? 0 : 10;
}
