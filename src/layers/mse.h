#ifndef NNLAB_MSE_H
#define NNLAB_MSE_H
/* y [B][K] predictions, t [B][K] targets; dy [B][K] or NULL. Returns
 * mean over B*K of (y - t)^2 and sets dy = 2 (y - t) / (B K). */
float mse_loss(const float *y, const float *t, int B, int K, float *dy);
#endif
