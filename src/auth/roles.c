/*
 * roles.c - the permission matrix (see roles.h). Scopes say which types and
 * interactions; reach says whose records (fhir/access.h): staff hold
 * "user/" scopes over what their organisation holds or was shared with it;
 * residents "patient/" scopes over their own compartment (and those granted
 * to them), where they may also grant access (Consent). Regulators read
 * directory data and their region's indicators; records only by break-glass.
 * Keep docs/security.md in step.
 */
#include "auth/roles.h"

#include <string.h>

/* Reference data every staff role reads. */
#define DIRECTORY                                                                                  \
    "user/Organization.rs user/Location.rs user/Practitioner.rs user/PractitionerRole.rs "         \
    "user/HealthcareService.rs user/CodeSystem.rs user/ValueSet.rs user/ConceptMap.rs "            \
    "user/Measure.rs "

const struct auth_role auth_roles[] = {
    {"resident", "居民", "Resident", "patient/*.rs patient/Consent.cruds", false, 'p', false},
    {"doctor", "医师", "Doctor",
     DIRECTORY "user/Patient.rs user/Observation.crus user/DiagnosticReport.crus "
               "user/ImagingStudy.rs user/Specimen.rs user/ServiceRequest.cruds "
               "user/Condition.crus user/Encounter.crus user/Procedure.crus "
               "user/MedicationRequest.cruds user/AllergyIntolerance.crus user/CarePlan.crus "
               "user/Consent.rs user/Appointment.crus user/Task.crus user/Communication.crus "
               "user/DocumentReference.crus user/EpisodeOfCare.rs user/Provenance.rs "
               "user/Basic.crs",
     false, 'o', true},
    {"nurse", "护士", "Nurse",
     DIRECTORY "user/Patient.rs user/Observation.crus user/DiagnosticReport.rs "
               "user/ServiceRequest.rs user/Condition.rs user/Encounter.crus user/Procedure.crus "
               "user/MedicationRequest.rs user/MedicationAdministration.crus "
               "user/AllergyIntolerance.rs user/CarePlan.crus user/Task.crus "
               "user/Communication.crus user/Location.rus user/Consent.rs",
     false, 'o', true},
    {"lab", "检验/影像", "Lab / imaging",
     DIRECTORY "user/Patient.rs user/ServiceRequest.rs user/Observation.cruds "
               "user/DiagnosticReport.cruds user/Specimen.cruds user/ImagingStudy.cruds "
               "user/Media.cruds user/Provenance.crs",
     false, 'o', false},
    {"admission", "入院服务中心", "Admission-centre staff",
     DIRECTORY "user/Patient.crus user/Encounter.crus user/ServiceRequest.crus "
               "user/Appointment.cruds user/Task.crus user/Location.rus user/Procedure.rs "
               "user/Observation.rs user/DiagnosticReport.rs user/Condition.rs "
               "user/Coverage.rs user/Consent.crus",
     false, 'o', false},
    {"dispatcher", "120调度员", "120 dispatcher",
     DIRECTORY "user/Patient.crus user/Encounter.crus user/Observation.rs user/Condition.rs "
               "user/Communication.crus user/Task.crus",
     false, 'o', true},
    {"ambulance", "急救车组", "Ambulance crew",
     DIRECTORY "user/Patient.crus user/Encounter.crus user/Observation.crus "
               "user/Condition.crus user/Communication.crus user/Procedure.crus user/Task.rus",
     false, 'o', true},
    {"transport", "转运人员", "Transport crew",
     DIRECTORY "user/Patient.rs user/ServiceRequest.rs user/Task.rus user/Encounter.crus", false,
     'o', false},
    {"waste", "医废处置人员", "Waste handler", DIRECTORY "user/Task.crus user/Device.rs", false,
     'o', false},
    {"hospital-admin", "医院管理员", "Hospital administrator",
     "user/Organization.rus user/Location.cruds user/Practitioner.cruds "
     "user/PractitionerRole.cruds user/HealthcareService.cruds user/Device.cruds "
     "user/CodeSystem.rs user/ValueSet.cruds user/ConceptMap.cruds user/ChargeItemDefinition.cruds "
     "user/Measure.rs user/MeasureReport.rs user/Basic.rs",
     false, 'o', false},
    {"regulator", "卫健委监管人员", "Regulator", "user/*.rs", false, 'r', true},
    {"platform-admin", "平台管理员", "Platform administrator", "user/*.cruds", true, 'a', false},
    {"system", "系统接口", "System client (HIS/LIS)", "system/*.cruds", false, 'a', false},
};

const size_t auth_role_count = sizeof(auth_roles) / sizeof(auth_roles[0]);

const struct auth_role *auth_role_find(const char *code)
{
    for (size_t i = 0; code && i < auth_role_count; i++)
        if (!strcmp(auth_roles[i].code, code))
            return &auth_roles[i];
    return NULL;
}
