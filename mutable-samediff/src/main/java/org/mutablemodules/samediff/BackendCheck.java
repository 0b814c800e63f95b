package org.mutablemodules.samediff;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.nd4j.linalg.api.environment.Nd4jEnvironment;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Which ND4J backend runs this process, and whether its GPUs can run ND4J's CUDA code.
 *
 * <p>The only CUDA backend of ND4J 1.0.0-M2.1 ({@code nd4j-cuda-11.6}) ships machine code for compute capabilities
 * 3.7, 5.0, 5.2, 6.0, 6.1, 7.0, 7.5, 8.0 and 8.6, and no PTX that the driver could compile for newer GPUs. By CUDA's
 * binary-compatibility rule, code for capability X.y runs on X.z with z &ge; y: so Kepler (3.7), Maxwell, Pascal,
 * Volta, Turing and Ampere GPUs are supported, and so is Ada (8.9, through the 8.6 code), while Hopper (9.0, for
 * example H100 and H200) and newer are not. Without this check such a GPU fails deep in native code with "no kernel
 * image is available"; with it, the first use of the library says which GPU and why.
 *
 * <p>On the CPU backend every check passes.
 */
public final class BackendCheck {

    /** The compute capabilities nd4j-cuda-11.6 1.0.0-M2.1 has machine code for, read from libnd4jcuda.so. */
    static final List<int[]> SHIPPED = List.of(new int[] {3, 7}, new int[] {5, 0}, new int[] {5, 2},
            new int[] {6, 0}, new int[] {6, 1}, new int[] {7, 0}, new int[] {7, 5}, new int[] {8, 0}, new int[] {8, 6});

    private static final AtomicBoolean CHECKED = new AtomicBoolean();

    private BackendCheck() {
    }

    /** {@return true when ND4J runs on its CUDA backend} */
    public static boolean isCuda() {
        return Nd4j.getBackend().getClass().getName().toLowerCase(Locale.ROOT).contains("cublas")
                || Nd4j.getExecutioner().getClass().getName().toLowerCase(Locale.ROOT).contains("cuda");
    }

    /**
     * A one-line description of the backend and, on CUDA, of each GPU with its compute capability, for logs and
     * check scripts, such as {@code CPU backend (CpuBackend)} or
     * {@code CUDA backend (JCublasBackend); GPU 0 "Tesla T4" compute capability 7.5}.
     *
     * @return a one-line description of the backend and, on CUDA, of each GPU with its compute capability, for logs and
     *     check scripts, such as {@code CPU backend (CpuBackend)} or {@code CUDA backend (JCublasBackend); GPU 0 "Tesla
     *     T4" compute capability 7.5}
     */
    public static String describe() {
        String backend = Nd4j.getBackend().getClass().getSimpleName();
        if (!isCuda()) {
            return "CPU backend (" + backend + ")";
        }
        StringBuilder sb = new StringBuilder("CUDA backend (" + backend + ")");
        List<Map<String, Object>> devices = devices();
        for (int i = 0; i < devices.size(); i++) {
            Map<String, Object> d = devices.get(i);
            sb.append(String.format(Locale.ROOT, "; GPU %d \"%s\" compute capability %s.%s", i,
                    d.get(Nd4jEnvironment.CUDA_DEVICE_NAME_KEY), d.get(Nd4jEnvironment.CUDA_DEVICE_MAJOR_VERSION_KEY),
                    d.get(Nd4jEnvironment.CUDA_DEVICE_MINOR_VERSION_KEY)));
        }
        return sb.toString();
    }

    /**
     * Checks every GPU of the CUDA backend; does nothing on the CPU backend. {@link MutableGraph#of} calls it once
     * per process.
     *
     * @throws IllegalStateException naming the first GPU whose compute capability the backend has no code for, that
     *                               capability, and the supported ones
     */
    public static void requireSupportedGpus() {
        if (!isCuda()) {
            return;
        }
        List<Map<String, Object>> devices = devices();
        for (int i = 0; i < devices.size(); i++) {
            Map<String, Object> d = devices.get(i);
            requireSupported(i, String.valueOf(d.get(Nd4jEnvironment.CUDA_DEVICE_NAME_KEY)),
                    toInt(d.get(Nd4jEnvironment.CUDA_DEVICE_MAJOR_VERSION_KEY)),
                    toInt(d.get(Nd4jEnvironment.CUDA_DEVICE_MINOR_VERSION_KEY)));
        }
    }

    /** {@link #requireSupportedGpus()} the first time it is called in this process. */
    static void checkOnce() {
        if (!CHECKED.get()) {
            requireSupportedGpus();     // throws again on every call until the GPU is fixed
            CHECKED.set(true);
        }
        NativeThreads.applyDefaultOnce();
    }

    /** The decision, for a GPU described by its index, name and compute capability. */
    static void requireSupported(int index, String name, int major, int minor) {
        if (!isSupported(major, minor)) {
            throw new IllegalStateException(String.format(Locale.ROOT,
                    "GPU %d \"%s\" has compute capability %d.%d, which ND4J 1.0.0-M2.1's CUDA backend "
                            + "(nd4j-cuda-11.6) cannot run: it ships GPU code only for compute capabilities %s "
                            + "(each also runs on later minor versions of the same major, e.g. 8.6 code on 8.9) and "
                            + "no PTX. Hopper (9.0) and newer GPUs are not supported. Run on the CPU backend (build "
                            + "without -Pcuda) or on a supported GPU.",
                    index, name, major, minor, supportedList()));
        }
    }

    /** CUDA's rule: machine code for X.y runs on X.z when z &ge; y. */
    static boolean isSupported(int major, int minor) {
        for (int[] cc : SHIPPED) {
            if (cc[0] == major && cc[1] <= minor) {
                return true;
            }
        }
        return false;
    }

    static String supportedList() {
        return SHIPPED.stream().map(cc -> cc[0] + "." + cc[1]).collect(Collectors.joining(", "));
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> devices() {
        Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
        Object info = env.get(Nd4jEnvironment.CUDA_DEVICE_INFORMATION_KEY);
        return info instanceof List ? (List<Map<String, Object>>) info : new ArrayList<>();
    }

    private static int toInt(Object o) {
        return o instanceof Number ? ((Number) o).intValue() : Integer.parseInt(String.valueOf(o));
    }
}
