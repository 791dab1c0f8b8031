# Placeholder for terraform test (plan only hashes this file); make package builds the real one in dist/.
