// Monte Carlo kernel of the pricing core: one thread per antithetic path pair, interpreting a
// packed kernels::mc::Program (layout: Program::pack in src/mc/mod.rs). It repeats the CPU
// engine (src/mc/cpu.rs) operation for operation, with the same Philox4x32-10 stream and the
// same inverse normal, so CPU and GPU paths agree to rounding. Compiled at run time by NVRTC
// with --fmad=false so that products and sums round as on the CPU.

#define MAXS 16
#define FLAG_HAS_KI 1u
#define FLAG_KI_UP 2u
#define FLAG_KI_CONT 4u
#define FLAG_KNOCKED_IN 8u
#define FLAG_HAS_CKO 16u
#define FLAG_KO_UP 32u
#define FLAG_CKO_AT_HIT 64u
#define FLAG_HAS_AVG 128u
#define FLAG_GEOMETRIC 256u
#define FLAG_MEMORY 512u
#define FLAG_BRIDGE 1024u
#define EV_AVG 0u
#define EV_COUPON 1u
#define EV_KI 2u

__device__ __forceinline__ void philox(unsigned c[4], unsigned k0, unsigned k1) {
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        unsigned long long p0 = (unsigned long long)0xD2511F53u * c[0];
        unsigned long long p1 = (unsigned long long)0xCD9E8D57u * c[2];
        unsigned hi0 = (unsigned)(p0 >> 32), lo0 = (unsigned)p0;
        unsigned hi1 = (unsigned)(p1 >> 32), lo1 = (unsigned)p1;
        unsigned n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0; c[1] = lo1; c[2] = n2; c[3] = lo0;
    }
}

__device__ __forceinline__ double uniform53(unsigned hi, unsigned lo) {
    unsigned long long bits = ((unsigned long long)hi << 21) ^ ((unsigned long long)lo >> 11);
    return ((double)bits + 0.5) * (1.0 / 9007199254740992.0);
}

// Acklam's inverse normal, as kernels::math::inv_norm_cdf.
__device__ double inv_norm(double p) {
    const double a0 = -3.969683028665376e1, a1 = 2.209460984245205e2, a2 = -2.759285104469687e2,
                 a3 = 1.38357751867269e2, a4 = -3.066479806614716e1, a5 = 2.506628277459239;
    const double b0 = -5.447609879822406e1, b1 = 1.615858368580409e2, b2 = -1.556989798598866e2,
                 b3 = 6.680131188771972e1, b4 = -1.328068155288572e1;
    const double c0 = -7.784894002430293e-3, c1 = -3.223964580411365e-1, c2 = -2.400758277161838,
                 c3 = -2.549732539343734, c4 = 4.374664141464968, c5 = 2.938163982698783;
    const double d0 = 7.784695709041462e-3, d1 = 3.224671290700398e-1, d2 = 2.445134137142996,
                 d3 = 3.754408661907416;
    if (p < 0.02425) {
        double q = sqrt(-2.0 * log(p));
        return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
               ((((d0 * q + d1) * q + d2) * q + d3) * q + 1.0);
    } else if (p <= 1.0 - 0.02425) {
        double q = p - 0.5, r = q * q;
        return (((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q /
               (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1.0);
    } else {
        double q = sqrt(-2.0 * log(1.0 - p));
        return -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
               ((((d0 * q + d1) * q + d2) * q + d3) * q + 1.0);
    }
}

__device__ double payoff(int which, double u, int n_base, int n_legs, const unsigned* leg_kind,
                         const double* leg_k, const double* leg_w, const double* bounds) {
    int lo = which == 0 ? 0 : n_base, hi = which == 0 ? n_base : n_legs;
    double v = 0.0;
    for (int i = lo; i < hi; ++i) {
        double k = leg_k[i], w = leg_w[i];
        switch (leg_kind[i]) {
            case 0: v += w * fmax(u - k, 0.0); break;
            case 1: v += w * fmax(k - u, 0.0); break;
            case 2: v += u > k ? w : 0.0; break;
            case 3: v += u < k ? w : 0.0; break;
            case 4: v += w * (u - k); break;
            default: v += w; break;
        }
    }
    return fmin(fmax(v, bounds[2 * which]), bounds[2 * which + 1]);
}

__device__ __forceinline__ double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

extern "C" __global__ void mc_pairs(const double* __restrict__ fd, const unsigned* __restrict__ ud,
                                    unsigned long long pairs, unsigned key0, unsigned key1,
                                    unsigned contract, double* __restrict__ acc) {
    const int n = ud[0], k = ud[1];
    const unsigned f = ud[2];
    const int n_ev = ud[3], n_base = ud[4], n_legs = ud[5], n_ko = ud[6], n_cpn = ud[7];
    const unsigned* ev_start = ud + 8;
    const unsigned* ev_kind = ev_start + n + 1;
    const unsigned* ev_idx = ev_kind + n_ev;
    const unsigned* leg_kind = ev_idx + n_ev;
    const double s_ref = fd[0], ki_log = fd[1], cko_log = fd[2], cko_rebate = fd[3];
    const double avg_past_sum = fd[4], avg_n = fd[5], missed0 = fd[6];
    const double* bounds = fd + 7;
    const double* x0 = fd + 11;
    const double* drift = x0 + k;
    const double* diff = drift + k * n;
    const double* inv_var = diff + k * n;
    const double* step_df = inv_var + k * n;
    const double* ev_df = step_df + k * n;
    const double* df_mat = ev_df + k * n_ev;
    const double* ko_log = df_mat + k;
    const double* ko_amount = ko_log + n_ko;
    const double* cpn_log = ko_amount + n_ko;
    const double* cpn_amount = cpn_log + n_cpn;
    const double* leg_k = cpn_amount + n_cpn;
    const double* leg_w = leg_k + n_legs;

    unsigned long long pair = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    double out[MAXS];
    for (int s = 0; s < MAXS; ++s) out[s] = 0.0;
    if (pair < pairs) {
        const int np = 2 * k;
        double x[2 * MAXS], q_ki[2 * MAXS], q_ko[2 * MAXS], avg[2 * MAXS], missed[2 * MAXS], pv[2 * MAXS];
        bool alive[2 * MAXS], ki[2 * MAXS];
        const bool ki0 = (f & FLAG_KNOCKED_IN) != 0;
        for (int i = 0; i < np; ++i) {
            x[i] = x0[i / 2]; alive[i] = true; ki[i] = ki0; q_ki[i] = 1.0; q_ko[i] = 1.0;
            avg[i] = 0.0; missed[i] = missed0; pv[i] = 0.0;
        }
        int n_alive = np;
        const bool has_cko = (f & FLAG_HAS_CKO) != 0, ko_up = (f & FLAG_KO_UP) != 0;
        const bool ki_cont = (f & FLAG_HAS_KI) && (f & FLAG_KI_CONT) && !ki0;
        const bool ki_up = (f & FLAG_KI_UP) != 0, bridge = (f & FLAG_BRIDGE) != 0;
        const bool cko_at_hit = (f & FLAG_CKO_AT_HIT) != 0;
        double blk[2] = {0.0, 0.0};
        for (int j = 0; j < n; ++j) {
            if ((j & 1) == 0) {
                unsigned c[4] = {(unsigned)(j / 2), (unsigned)pair, (unsigned)(pair >> 32), contract};
                philox(c, key0, key1);
                blk[0] = inv_norm(uniform53(c[0], c[1]));
                blk[1] = inv_norm(uniform53(c[2], c[3]));
            }
            const double z = blk[j & 1];
            for (int i = 0; i < np; ++i) {
                if (!alive[i]) continue;
                const int s = i / 2;
                const double dz = (i % 2 == 1) ? -z : z;
                const double xp = x[i];
                const double xn = xp + drift[s * n + j] + diff[s * n + j] * dz;
                x[i] = xn;
                if (has_cko) {
                    const double b = cko_log;
                    const double df = cko_at_hit ? step_df[s * n + j] : df_mat[s];
                    if ((ko_up && xn >= b) || (!ko_up && xn <= b)) {
                        pv[i] += q_ko[i] * cko_rebate * df;
                        alive[i] = false;
                        n_alive -= 1;
                        continue;
                    } else if (bridge) {
                        const double a = 2.0 * (b - xp) * (b - xn) * inv_var[s * n + j];
                        if (a < 50.0) {
                            const double pr = exp(-a);
                            pv[i] += q_ko[i] * pr * cko_rebate * df;
                            q_ko[i] *= 1.0 - pr;
                        }
                    }
                }
                if (ki_cont && !ki[i]) {
                    const double b = ki_log;
                    if ((ki_up && xn >= b) || (!ki_up && xn <= b)) {
                        ki[i] = true;
                    } else if (bridge) {
                        const double a = 2.0 * (b - xp) * (b - xn) * inv_var[s * n + j];
                        if (a < 50.0) q_ki[i] *= 1.0 - exp(-a);
                    }
                }
            }
            for (unsigned e = ev_start[j]; e < ev_start[j + 1]; ++e) {
                const unsigned idx = ev_idx[e];
                const unsigned kind = ev_kind[e];
                if (kind == EV_AVG) {
                    const bool geo = (f & FLAG_GEOMETRIC) != 0;
                    const double lr = log(s_ref);
                    for (int i = 0; i < np; ++i)
                        if (alive[i]) avg[i] += geo ? lr + x[i] : s_ref * exp(x[i]);
                } else if (kind == EV_COUPON) {
                    const bool mem = (f & FLAG_MEMORY) != 0;
                    for (int i = 0; i < np; ++i) {
                        if (!alive[i]) continue;
                        if (x[i] >= cpn_log[idx]) {
                            const double mult = mem ? 1.0 + missed[i] : 1.0;
                            pv[i] += cpn_amount[idx] * mult * ev_df[(i / 2) * n_ev + e];
                            missed[i] = 0.0;
                        } else {
                            missed[i] += 1.0;
                        }
                    }
                } else if (kind == EV_KI) {
                    for (int i = 0; i < np; ++i)
                        if (alive[i] && ((ki_up && x[i] >= ki_log) || (!ki_up && x[i] <= ki_log))) ki[i] = true;
                } else {
                    const double b = ko_log[idx];
                    for (int i = 0; i < np; ++i) {
                        if (alive[i] && ((ko_up && x[i] >= b) || (!ko_up && x[i] <= b))) {
                            pv[i] += q_ko[i] * ko_amount[idx] * ev_df[(i / 2) * n_ev + e];
                            alive[i] = false;
                            n_alive -= 1;
                        }
                    }
                }
            }
            if (n_alive == 0) break;
        }
        const bool has_ki = (f & FLAG_HAS_KI) != 0;
        for (int i = 0; i < np; ++i) {
            if (!alive[i]) continue;
            const int s = i / 2;
            double u;
            if (f & FLAG_HAS_AVG) {
                const double a = (avg_past_sum + avg[i]) / avg_n;
                u = (f & FLAG_GEOMETRIC) ? exp(a) : a;
            } else {
                u = s_ref * exp(x[i]);
            }
            double v;
            if (!has_ki) v = payoff(0, u, n_base, n_legs, leg_kind, leg_k, leg_w, bounds);
            else if (ki[i]) v = payoff(1, u, n_base, n_legs, leg_kind, leg_k, leg_w, bounds);
            else if (q_ki[i] < 1.0)
                v = q_ki[i] * payoff(0, u, n_base, n_legs, leg_kind, leg_k, leg_w, bounds) +
                    (1.0 - q_ki[i]) * payoff(1, u, n_base, n_legs, leg_kind, leg_k, leg_w, bounds);
            else v = payoff(0, u, n_base, n_legs, leg_kind, leg_k, leg_w, bounds);
            pv[i] += q_ko[i] * v * df_mat[s];
        }
        for (int s = 0; s < k; ++s) out[s] = 0.5 * (pv[2 * s] + pv[2 * s + 1]);
    }
    // Sums and cross products of the pair averages, reduced per warp, one atomic per warp.
    const int lane = threadIdx.x & 31;
    for (int a = 0; a < k; ++a) {
        const double v = warp_sum(out[a]);
        if (lane == 0) atomicAdd(&acc[a], v);
    }
    for (int a = 0; a < k; ++a) {
        for (int b = 0; b < k; ++b) {
            const double v = warp_sum(out[a] * out[b]);
            if (lane == 0) atomicAdd(&acc[k + a * k + b], v);
        }
    }
}
