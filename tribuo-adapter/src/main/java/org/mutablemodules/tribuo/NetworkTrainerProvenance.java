package org.mutablemodules.tribuo;

import com.oracle.labs.mlrg.olcut.provenance.ObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.PrimitiveProvenance;
import com.oracle.labs.mlrg.olcut.provenance.Provenance;
import com.oracle.labs.mlrg.olcut.provenance.primitives.HashProvenance;
import com.oracle.labs.mlrg.olcut.provenance.primitives.StringProvenance;
import java.util.Map;
import java.util.Objects;
import org.tribuo.Output;
import org.tribuo.Trainer;
import org.tribuo.provenance.SkeletalTrainerProvenance;

/**
 * The provenance of {@link MutableNetworkTrainer} and {@link HypernetworkTrainer}: every configured property (the
 * network configuration's JSON, updater, epochs, minibatch size, seed, ...) as Tribuo records them, plus
 * <ul>
 *   <li>{@value #NETWORK_HASH}: the SHA-256 hash of the network configuration's JSON, as Tribuo's TensorFlow trainer
 *       records its graph's hash;</li>
 *   <li>{@value #ND4J_BACKEND}: the ND4J backend class that trained the model;</li>
 *   <li>{@value #LIBRARY_VERSION}: this library's version.</li>
 * </ul>
 */
public final class NetworkTrainerProvenance extends SkeletalTrainerProvenance {
    private static final long serialVersionUID = 1L;

    /** The name of the field holding the hash of the network configuration's JSON. */
    public static final String NETWORK_HASH = "network-configuration-hash";
    /** The name of the field holding the ND4J backend class. */
    public static final String ND4J_BACKEND = "nd4j-backend";
    /** The name of the field holding this library's version. */
    public static final String LIBRARY_VERSION = "mutable-modules-version";

    /** The hash of the network's configuration. */
    private final HashProvenance networkHash;
    /** The ND4J backend class that trained. */
    private final StringProvenance backend;
    /** This library's version. */
    private final StringProvenance libraryVersion;

    <T extends Output<T>> NetworkTrainerProvenance(Trainer<T> host, String networkHash) {
        super(host);
        this.networkHash = new HashProvenance(DEFAULT_HASH_TYPE, NETWORK_HASH, networkHash);
        this.backend = new StringProvenance(ND4J_BACKEND, LibraryInfo.backend());
        this.libraryVersion = new StringProvenance(LIBRARY_VERSION, LibraryInfo.VERSION);
    }

    /**
     * Deserialization constructor, used by Tribuo's and OLCUT's provenance machinery.
     *
     * @param map the provenance's fields
     * @throws com.oracle.labs.mlrg.olcut.provenance.ProvenanceException if a field is missing or of the wrong type
     */
    public NetworkTrainerProvenance(Map<String, Provenance> map) {
        this(extractNetworkInfo(map));
    }

    private NetworkTrainerProvenance(ExtractedInfo info) {
        super(info);
        this.networkHash = (HashProvenance) info.instanceValues.get(NETWORK_HASH);
        this.backend = (StringProvenance) info.instanceValues.get(ND4J_BACKEND);
        this.libraryVersion = (StringProvenance) info.instanceValues.get(LIBRARY_VERSION);
    }

    private static ExtractedInfo extractNetworkInfo(Map<String, Provenance> map) {
        ExtractedInfo info = SkeletalTrainerProvenance.extractProvenanceInfo(map);
        String host = NetworkTrainerProvenance.class.getSimpleName();
        info.instanceValues.put(NETWORK_HASH, ObjectProvenance.checkAndExtractProvenance(info.configuredParameters,
                NETWORK_HASH, HashProvenance.class, host));
        info.instanceValues.put(ND4J_BACKEND, ObjectProvenance.checkAndExtractProvenance(info.configuredParameters,
                ND4J_BACKEND, StringProvenance.class, host));
        info.instanceValues.put(LIBRARY_VERSION, ObjectProvenance.checkAndExtractProvenance(
                info.configuredParameters, LIBRARY_VERSION, StringProvenance.class, host));
        return info;
    }

    /** {@return the SHA-256 hash (hex) of the network configuration's JSON} */
    public String networkHash() {
        return networkHash.getValue();
    }

    /** {@return the ND4J backend class that trained the model} */
    public String backend() {
        return backend.getValue();
    }

    /** {@return the version of this library that trained the model} */
    public String libraryVersion() {
        return libraryVersion.getValue();
    }

    @Override
    public Map<String, PrimitiveProvenance<?>> getInstanceValues() {
        Map<String, PrimitiveProvenance<?>> map = super.getInstanceValues();
        map.put(NETWORK_HASH, networkHash);
        map.put(ND4J_BACKEND, backend);
        map.put(LIBRARY_VERSION, libraryVersion);
        return map;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof NetworkTrainerProvenance) || !super.equals(o)) {
            return false;
        }
        NetworkTrainerProvenance other = (NetworkTrainerProvenance) o;
        return networkHash.equals(other.networkHash) && backend.equals(other.backend)
                && libraryVersion.equals(other.libraryVersion);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), networkHash, backend, libraryVersion);
    }
}
